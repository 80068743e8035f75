// The Vercel AI SDK's Anthropic provider (@ai-sdk/anthropic, it calls /v1/messages) against
// llm-gateway: generateText, then streamText (the same `generate` and `stream` as
// ai-sdk.mjs, which take any AI SDK model).
//
// The provider's base URL includes /v1 (the Anthropic SDK's does not): left to itself it
// reads ANTHROPIC_BASE_URL as that prefix, so it is given explicitly here.
//
//   ANTHROPIC_BASE_URL=http://localhost:8001 node ai-sdk-anthropic.mjs "Tell me a joke."
import { createAnthropic } from "@ai-sdk/anthropic";
import { pathToFileURL } from "node:url";
import { generate, stream } from "./ai-sdk.mjs";

/**
 * The gateway as the AI SDK's Anthropic provider; `options` as for createAnthropic (e.g. a
 * `fetch` of your own). The key goes out as x-api-key.
 * @param {import("@ai-sdk/anthropic").AnthropicProviderSettings} [options]
 */
export function gatewayProvider(options = {}) {
  return createAnthropic({
    baseURL: `${process.env.ANTHROPIC_BASE_URL ?? "http://localhost:8001"}/v1`,
    apiKey: process.env.ANTHROPIC_API_KEY ?? "unused",
    ...options,
  });
}

export const model = gatewayProvider()(process.env.ANTHROPIC_MODEL ?? "gpt-3.5-turbo");

/** The provider knows Anthropic's models' limits, not the gateway's: say how many tokens. */
export const settings = { maxOutputTokens: 200 };

async function main() {
  const prompt = process.argv[2] ?? "Say hello in one sentence.";
  console.log((await generate(prompt, model, settings)).text, "\n");
  const { usage, finishReason } = await stream(prompt, (piece) => process.stdout.write(piece), model, settings);
  console.log(`\n(${usage.inputTokens} input + ${usage.outputTokens} output tokens, ${finishReason})`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await main();
