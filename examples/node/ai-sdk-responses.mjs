// The Vercel AI SDK's default provider, openai(model) from @ai-sdk/openai, against
// llm-gateway. It calls /v1/responses, and the gateway stores each response (`store`
// defaults to true), so in a conversation the SDK sends the assistant's earlier answers as
// references, {"type": "item_reference", "id": "msg_…"}, instead of their text.
//
//   OPENAI_BASE_URL=http://localhost:8001/v1 node ai-sdk-responses.mjs "Tell me a joke." "Another one."
import { createOpenAI } from "@ai-sdk/openai";
import { generateText } from "ai";
import { pathToFileURL } from "node:url";
import { generate, stream } from "./ai-sdk.mjs";

/**
 * The gateway as the AI SDK's OpenAI provider. `options` as for createOpenAI (e.g. a
 * `fetch` of your own). With no options at all, `import { openai } from "@ai-sdk/openai"`
 * does the same from OPENAI_BASE_URL and OPENAI_API_KEY.
 * @param {import("@ai-sdk/openai").OpenAIProviderSettings} [options]
 */
export function gatewayProvider(options = {}) {
  return createOpenAI({
    baseURL: process.env.OPENAI_BASE_URL ?? "http://localhost:8001/v1",
    apiKey: process.env.OPENAI_API_KEY ?? "unused",
    ...options,
  });
}

export const model = gatewayProvider()(process.env.OPENAI_MODEL ?? "gpt-3.5-turbo");

/**
 * A conversation, one user message per turn. Every turn sends the whole history; the
 * answers in it carry their item ids (in `response.messages`), which the SDK sends as
 * item references. Each turn's answer and the id of the response stored for it.
 * @param {string[]} prompts
 * @param {import("ai").LanguageModel} chatModel
 */
export async function chat(prompts, chatModel = model) {
  /** @type {import("ai").ModelMessage[]} */
  const messages = [];
  const turns = [];
  for (const prompt of prompts) {
    messages.push({ role: "user", content: prompt });
    const { text, response, providerMetadata } = await generateText({
      model: chatModel,
      messages,
      maxRetries: 0,
    });
    messages.push(...response.messages);
    turns.push({ text, responseId: String(providerMetadata?.openai?.responseId) });
  }
  return turns;
}

async function main() {
  const given = process.argv.slice(2);
  const prompts = given.length ? given : ["Say hello in one sentence.", "Now in French."];
  console.log((await generate(prompts[0], model)).text, "\n");
  await stream(prompts[0], (piece) => process.stdout.write(piece), model);
  console.log("\n");
  for (const { text, responseId } of await chat(prompts, model)) {
    console.log(`${responseId}: ${text}`);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await main();
