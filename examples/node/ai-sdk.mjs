// The Vercel AI SDK against llm-gateway, through its OpenAI-compatible provider (which
// calls /v1/chat/completions): generateText, then streamText. `generate` and `stream` take
// any AI SDK model: ai-sdk-responses.mjs uses them with the default provider, openai().
//
//   OPENAI_BASE_URL=http://localhost:8001/v1 node ai-sdk.mjs "Tell me a joke."
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import { generateText, streamText } from "ai";
import { pathToFileURL } from "node:url";

/** @typedef {import("ai").LanguageModel} LanguageModel */

export const gateway = createOpenAICompatible({
  name: "llm-gateway",
  baseURL: process.env.OPENAI_BASE_URL ?? "http://localhost:8001/v1",
  apiKey: process.env.OPENAI_API_KEY ?? "unused",
  // Ask for the usage chunk at the end of streams (stream_options.include_usage).
  includeUsage: true,
});

export const model = gateway(process.env.OPENAI_MODEL ?? "gpt-3.5-turbo");

/** @typedef {{maxOutputTokens?: number}} Settings */

/**
 * @param {string} prompt
 * @param {LanguageModel} chatModel
 * @param {Settings} [settings] e.g. `maxOutputTokens` (the Anthropic provider sends 4096
 *   for models it does not know, with a warning, unless told)
 */
export async function generate(prompt, chatModel = model, settings = {}) {
  const { text, usage, finishReason, response } = await generateText({
    model: chatModel,
    prompt,
    maxRetries: 0,
    ...settings,
  });
  // response.id: the server's id for the answer (chatcmpl-… or, with openai(), resp_…).
  return { text, usage, finishReason, id: response.id };
}

/**
 * @param {string} prompt
 * @param {(text: string) => void} onText
 * @param {LanguageModel} chatModel
 * @param {Settings} [settings]
 */
export async function stream(prompt, onText, chatModel = model, settings = {}) {
  // streamText does not throw: errors go to onError and the text stream just ends.
  /** @type {unknown} */
  let failure;
  const result = streamText({
    model: chatModel,
    prompt,
    maxRetries: 0,
    ...settings,
    onError: ({ error }) => {
      failure = error;
    },
  });
  let text = "";
  for await (const piece of result.textStream) {
    text += piece;
    onText(piece);
  }
  if (failure) throw failure;
  return {
    text,
    usage: await result.usage,
    finishReason: await result.finishReason,
    id: (await result.response).id,
  };
}

async function main() {
  const prompt = process.argv[2] ?? "Say hello in one sentence.";
  console.log((await generate(prompt)).text, "\n");
  const { usage } = await stream(prompt, (piece) => process.stdout.write(piece));
  console.log(`\n(${usage.inputTokens} input + ${usage.outputTokens} output tokens)`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await main();
