// openai-node's Responses API against llm-gateway: a stored response, then a streamed
// follow-up that continues the conversation by `previous_response_id` (the gateway keeps
// the history; the client sends only the new message).
//
//   OPENAI_BASE_URL=http://localhost:8001/v1 node responses.mjs "Tell me a joke." "Explain it."
import { pathToFileURL } from "node:url";
import { gatewayClient, model } from "./chat.mjs";

/**
 * One response, not streamed; stored on the gateway (`store` defaults to true). The SDK's
 * APIPromise: `.withResponse()` gives the HTTP response too.
 * @param {import("openai").OpenAI} client
 * @param {string} input
 * @param {string} [previousResponseId] the response this one continues
 */
export function respond(client, input, previousResponseId) {
  return client.responses.create({ model, input, previous_response_id: previousResponseId });
}

/**
 * The same, streamed: `onText` gets each piece of text as it arrives. Returns the final
 * response (from the `response.completed` event; unlike `create`'s, it has no
 * `output_text` added by the SDK), the whole text, and every event, in order.
 * @param {import("openai").OpenAI} client
 * @param {string} input
 * @param {(text: string) => void} onText
 * @param {string} [previousResponseId]
 */
export async function streamResponse(client, input, onText, previousResponseId) {
  const stream = await client.responses.create({
    model,
    input,
    previous_response_id: previousResponseId,
    stream: true,
  });
  /** @type {import("openai/resources/responses/responses").ResponseStreamEvent[]} */
  const events = [];
  /** @type {import("openai/resources/responses/responses").Response | null} */
  let response = null;
  let text = "";
  for await (const event of stream) {
    events.push(event);
    if (event.type === "response.output_text.delta") {
      text += event.delta;
      onText(event.delta);
    }
    if (event.type === "response.completed" || event.type === "response.incomplete") {
      response = event.response;
    }
    if (event.type === "response.failed") {
      throw new Error(`the response failed: ${event.response.error?.message}`);
    }
  }
  if (response === null) throw new Error("the stream ended without its final response");
  return { response, text, events };
}

async function main() {
  const client = gatewayClient();
  const [first = "Tell me a joke.", second = "Explain it."] = process.argv.slice(2);
  const answer = await respond(client, first);
  console.log(`${answer.id}: ${answer.output_text}\n`);
  const { response } = await streamResponse(
    client,
    second,
    (piece) => process.stdout.write(piece),
    answer.id,
  );
  console.log(`\n(${response.id}, continuing ${response.previous_response_id})`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await main();
