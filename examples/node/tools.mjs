// openai-node: a tool call streamed and parsed by the SDK, then the answer that uses it.
// Needs a backend that does tools: the default embedded model does (a forced
// `tool_choice` is grammar-constrained, so the arguments always match the schema);
// the mock backend ignores tools.
//
//   OPENAI_BASE_URL=http://localhost:8001/v1 node tools.mjs "What is the weather in Paris?"
import { zodFunction } from "openai/helpers/zod";
import { pathToFileURL } from "node:url";
import { z } from "zod";
import { gatewayClient, model } from "./chat.mjs";

export const weatherTool = zodFunction({
  name: "get_weather",
  description: "The current weather in a city.",
  parameters: z.object({
    city: z.string().describe("The city, e.g. Paris"),
    unit: z.enum(["celsius", "fahrenheit"]),
  }),
});

/**
 * Asks with `get_weather` forced, streaming: the SDK puts the argument fragments back
 * together and parses them (validated by the zod schema).
 * @param {import("openai").OpenAI} client
 * @param {string} prompt
 */
export async function callWeatherTool(client, prompt) {
  /** @type {string[]} */
  const fragments = [];
  const stream = client.chat.completions
    .stream({
      model,
      messages: [{ role: "user", content: prompt }],
      tools: [weatherTool],
      tool_choice: { type: "function", function: { name: "get_weather" } },
      max_tokens: 60,
      temperature: 0,
      stream_options: { include_usage: true },
    })
    .on("tool_calls.function.arguments.delta", (event) => fragments.push(event.arguments_delta));
  const completion = await stream.finalChatCompletion();
  const [choice] = completion.choices;
  return { message: choice.message, finishReason: choice.finish_reason, fragments, usage: completion.usage };
}

async function main() {
  const client = gatewayClient();
  const prompt = process.argv[2] ?? "What is the weather in Paris?";
  const { message } = await callWeatherTool(client, prompt);
  const call = message.tool_calls?.[0];
  if (!call || call.type !== "function") throw new Error("no tool call in the answer");
  console.log(`tool call: ${call.function.name}(${call.function.arguments})`);
  // Run the tool (here: a made-up reading) and send its result back for the answer.
  const args = /** @type {{city: string, unit: string}} */ (call.function.parsed_arguments);
  const reading = { ...args, temperature: 21, sky: "clear" };
  const answer = await client.chat.completions.create({
    model,
    messages: [
      { role: "user", content: prompt },
      {
        role: "assistant",
        content: message.content,
        tool_calls: [
          { id: call.id, type: "function", function: { name: call.function.name, arguments: call.function.arguments } },
        ],
      },
      { role: "tool", tool_call_id: call.id, content: JSON.stringify(reading) },
    ],
    max_tokens: 60,
  });
  console.log(answer.choices[0].message.content);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await main();
