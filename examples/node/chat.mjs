// openai-node against llm-gateway: one chat completion, then a streamed one.
//
//   OPENAI_BASE_URL=http://localhost:8001/v1 node chat.mjs "Tell me a joke."
//   OPENAI_BASE_URL=https://localhost/v1 NODE_EXTRA_CA_CERTS=root.crt node chat.mjs
import OpenAI from "openai";
import { pathToFileURL } from "node:url";

export const model = process.env.OPENAI_MODEL ?? "gpt-3.5-turbo";

/**
 * A client for the gateway: base URL and key from the environment, like the SDK's own;
 * `options` as for `new OpenAI()` (e.g. a `fetch` of your own).
 * @param {import("openai").ClientOptions} [options]
 */
export function gatewayClient(options = {}) {
  return new OpenAI({
    baseURL: process.env.OPENAI_BASE_URL ?? "http://localhost:8001/v1",
    apiKey: process.env.OPENAI_API_KEY ?? "unused",
    ...options,
  });
}

/**
 * One answer, not streamed.
 * @param {OpenAI} client
 * @param {string} prompt
 */
export async function ask(client, prompt) {
  const completion = await client.chat.completions.create({
    model,
    messages: [{ role: "user", content: prompt }],
  });
  return completion.choices[0].message.content ?? "";
}

/**
 * One answer streamed: `onText` gets each piece as it arrives; the token usage comes in
 * the last chunk (`stream_options.include_usage`).
 * @param {OpenAI} client
 * @param {string} prompt
 * @param {(text: string) => void} onText
 */
export async function streamAnswer(client, prompt, onText) {
  const stream = await client.chat.completions.create({
    model,
    messages: [{ role: "user", content: prompt }],
    stream: true,
    stream_options: { include_usage: true },
  });
  let text = "";
  let usage = null;
  let chunks = 0;
  for await (const chunk of stream) {
    chunks += 1;
    const piece = chunk.choices[0]?.delta?.content ?? "";
    if (piece) {
      text += piece;
      onText(piece);
    }
    if (chunk.usage) usage = chunk.usage;
  }
  return { text, usage, chunks };
}

async function main() {
  const client = gatewayClient();
  const prompt = process.argv[2] ?? "Say hello in one sentence.";
  console.log(`${model}: ${await ask(client, prompt)}\n`);
  const { usage } = await streamAnswer(client, prompt, (piece) => process.stdout.write(piece));
  console.log(`\n(${usage?.prompt_tokens} prompt + ${usage?.completion_tokens} completion tokens)`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await main();
