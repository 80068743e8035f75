// POST /api/chat {"prompt": "..."} → the answer as a plain text stream, token by token.
// Read it in the browser with fetch() and response.body.getReader(), or with the AI SDK's
// useCompletion({ api: "/api/chat", streamProtocol: "text" }).
import { streamText } from "ai";
import { chatModel } from "../../../lib/gateway";

export async function POST(req: Request): Promise<Response> {
  const body: unknown = await req.json().catch(() => null);
  const prompt = (body as { prompt?: unknown } | null)?.prompt;
  if (typeof prompt !== "string" || prompt.trim() === "") {
    return Response.json({ error: "Send {\"prompt\": \"...\"}." }, { status: 400 });
  }
  const result = streamText({
    model: chatModel,
    prompt,
    // The browser going away aborts the upstream request, which stops the generation.
    abortSignal: req.signal,
  });
  return result.toTextStreamResponse();
}
