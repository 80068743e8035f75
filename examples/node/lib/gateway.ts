// The gateway as an AI SDK provider, for the route handlers in app/api/. It runs on the
// server only, so OPENAI_BASE_URL is the URL *the Next.js server* reaches the gateway at
// (inside Docker Compose: http://api:8001/v1; on the host: http://localhost:8001/v1 or
// https://localhost/v1), and the key never reaches the browser.
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";

export const gateway = createOpenAICompatible({
  name: "llm-gateway",
  baseURL: process.env.OPENAI_BASE_URL ?? "http://localhost:8001/v1",
  apiKey: process.env.OPENAI_API_KEY,
  includeUsage: true,
});

export const chatModel = gateway(process.env.OPENAI_MODEL ?? "gpt-3.5-turbo");
