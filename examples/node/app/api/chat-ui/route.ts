// POST /api/chat-ui {"messages": UIMessage[]} → the AI SDK's UI message stream, the
// protocol useChat() speaks: useChat({ transport: new DefaultChatTransport({ api: "/api/chat-ui" }) }).
import { convertToModelMessages, streamText, type UIMessage } from "ai";
import { chatModel } from "../../../lib/gateway";

export async function POST(req: Request): Promise<Response> {
  const { messages } = (await req.json()) as { messages: UIMessage[] };
  const result = streamText({
    model: chatModel,
    messages: await convertToModelMessages(messages),
    abortSignal: req.signal,
  });
  return result.toUIMessageStreamResponse();
}
