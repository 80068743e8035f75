// The official Anthropic TypeScript SDK (@anthropic-ai/sdk) against llm-gateway's Messages
// API: one message, then the same streamed (the SDK's `messages.stream()`: its text as it
// arrives, the message it built at the end), then what the prompt costs (count_tokens).
// The base URL is the server's root (the SDK adds /v1/messages); this SDK sends the key as
// `Authorization: Bearer` (the AI SDK's provider as x-api-key): the gateway takes either.
//
//   ANTHROPIC_BASE_URL=http://localhost:8001 node anthropic.mjs "Tell me a joke."
//   ANTHROPIC_BASE_URL=https://localhost NODE_EXTRA_CA_CERTS=root.crt node anthropic.mjs
import Anthropic from "@anthropic-ai/sdk";
import { pathToFileURL } from "node:url";

/** @typedef {import("@anthropic-ai/sdk/resources/messages").Message} Message */

export const model = process.env.ANTHROPIC_MODEL ?? "gpt-3.5-turbo";

/**
 * A client for the gateway: base URL and key from the SDK's own variables, with the
 * gateway's address rather than Anthropic's as the default; `options` as for
 * `new Anthropic()` (e.g. a `fetch` of your own).
 * @param {import("@anthropic-ai/sdk").ClientOptions} [options]
 */
export function gatewayClient(options = {}) {
  return new Anthropic({
    baseURL: process.env.ANTHROPIC_BASE_URL ?? "http://localhost:8001",
    apiKey: process.env.ANTHROPIC_API_KEY ?? "unused",
    ...options,
  });
}

/** The text blocks of a message, joined. @param {Message} message */
export const textOf = (message) =>
  message.content.map((block) => (block.type === "text" ? block.text : "")).join("");

/**
 * One message, not streamed.
 * @param {Anthropic} client
 * @param {string} prompt
 */
export async function ask(client, prompt) {
  return client.messages.create({
    model,
    max_tokens: 200,
    messages: [{ role: "user", content: prompt }],
  });
}

/**
 * The same streamed: `onText` gets each piece as it arrives; the SDK joins the events
 * into the final message (with the stop reason and the usage of `message_delta`).
 * @param {Anthropic} client
 * @param {string} prompt
 * @param {(text: string) => void} onText
 */
export async function streamAnswer(client, prompt, onText) {
  return client.messages
    .stream({ model, max_tokens: 200, messages: [{ role: "user", content: prompt }] })
    .on("text", onText)
    .finalMessage();
}

/**
 * The prompt's input tokens, as the model reads it (without generating anything).
 * @param {Anthropic} client
 * @param {string} prompt
 */
export async function countTokens(client, prompt) {
  const { input_tokens } = await client.messages.countTokens({
    model,
    messages: [{ role: "user", content: prompt }],
  });
  return input_tokens;
}

async function main() {
  const client = gatewayClient();
  const prompt = process.argv[2] ?? "Say hello in one sentence.";
  const message = await ask(client, prompt);
  console.log(`${message.model}: ${textOf(message)}\n`);
  const final = await streamAnswer(client, prompt, (piece) => process.stdout.write(piece));
  const { input_tokens, output_tokens } = final.usage;
  console.log(`\n(${input_tokens} input + ${output_tokens} output tokens, ${final.stop_reason})`);
  console.log(`count_tokens: ${await countTokens(client, prompt)}`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await main();
