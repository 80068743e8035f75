// The gateway as an AI SDK provider, for the route handlers in app/api/. It runs on the
// server only, so OPENAI_BASE_URL is the URL *the Next.js server* reaches the gateway at
// (inside Docker Compose: http://api:8001/v1; on the host: http://localhost:8001/v1 or
// https://localhost/v1), and the key never reaches the browser.
import { createOpenAI } from "@ai-sdk/openai";
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";

const baseURL = process.env.OPENAI_BASE_URL ?? "http://localhost:8001/v1";
const modelId = process.env.OPENAI_MODEL ?? "gpt-3.5-turbo";

// The OpenAI-compatible provider: /v1/chat/completions.
export const gateway = createOpenAICompatible({
  name: "llm-gateway",
  baseURL,
  apiKey: process.env.OPENAI_API_KEY,
  includeUsage: true,
});

export const chatModel = gateway(modelId);

// The AI SDK's default provider, openai(): /v1/responses, answers stored on the gateway.
// (It insists on a key: any string will do when the gateway has no API_KEYS.)
export const openai = createOpenAI({ baseURL, apiKey: process.env.OPENAI_API_KEY ?? "unused" });

export const responsesModel = openai(modelId);
