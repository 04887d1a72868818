// node-zendesk against caredesk's /api/v2: reads, with the client's own calls.
// Run by tests/contract/test_node_zendesk.py with CAREDESK_URL, CAREDESK_EMAIL and CAREDESK_TOKEN.
"use strict";
const zendesk = require("node-zendesk");

async function main() {
  const client = zendesk.createClient({
    username: process.env.CAREDESK_EMAIL,
    token: process.env.CAREDESK_TOKEN,
    endpointUri: `${process.env.CAREDESK_URL}/api/v2`,
  });
  const me = await client.users.me();
  const groups = await client.groups.list();
  const tickets = await client.tickets.list();
  const first = await client.tickets.show(tickets[0].id);
  const comments = await client.tickets.getComments(first.result.id);
  console.log(JSON.stringify({ me, groups, tickets, first, comments }));
}

main().catch((error) => {
  console.error(error.stack || String(error));
  process.exit(1);
});
