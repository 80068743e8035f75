// POST /api/chat-responses {"messages": UIMessage[]} → the UI message stream for useChat(),
// like /api/chat-ui, through the AI SDK's default provider openai() (/v1/responses). Each
// answer's text part carries its stored item id (providerMetadata.openai.itemId), which
// useChat() keeps and sends back, so on the next turn the SDK sends the gateway item
// references to its stored answers instead of their text.
import { convertToModelMessages, streamText, type UIMessage } from "ai";
import { responsesModel } from "../../../lib/gateway";

export async function POST(req: Request): Promise<Response> {
  const { messages } = (await req.json()) as { messages: UIMessage[] };
  const result = streamText({
    model: responsesModel,
    messages: await convertToModelMessages(messages),
    abortSignal: req.signal,
  });
  return result.toUIMessageStreamResponse();
}
