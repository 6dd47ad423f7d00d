// Verifies deliveries with the Standard Webhooks reference library. Reads one JSON object a
// line on stdin, {"secret","headers":{...},"body"}, and writes one line per input: "ok" or
// "fail: <reason>".
import { Webhook } from "standardwebhooks";
import readline from "node:readline";

const lines = readline.createInterface({ input: process.stdin });
for await (const line of lines) {
  if (!line.trim()) continue;
  const { secret, headers, body } = JSON.parse(line);
  try {
    new Webhook(secret).verify(body, headers);
    console.log("ok");
  } catch (e) {
    console.log("fail: " + e.message);
  }
}
