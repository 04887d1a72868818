// node-zendesk against caredesk's /api/v2: writes, search and exports, with the client's own calls.
// Run by tests/contract/test_node_zendesk.py with CAREDESK_URL, CAREDESK_EMAIL, CAREDESK_TOKEN
// and CAREDESK_WORD, a word no other test's data holds.
"use strict";
const zendesk = require("node-zendesk");

async function main() {
  const word = process.env.CAREDESK_WORD;
  const client = zendesk.createClient({
    username: process.env.CAREDESK_EMAIL,
    token: process.env.CAREDESK_TOKEN,
    endpointUri: `${process.env.CAREDESK_URL}/api/v2`,
  });
  const start = Math.floor(Date.now() / 1000) - 1;
  const created = await client.tickets.create({
    ticket: {
      subject: `Toaster ${word}`,
      requester: { name: `Eve ${word}`, email: `${word}@example.com` },
      comment: { body: `The toaster ${word} burns everything.` },
      tags: ["toaster"],
    },
  });
  const id = created.result.id;
  const updated = await client.tickets.update(id, {
    ticket: { status: "pending", comment: { body: "A new one is on its way.", public: true } },
  });
  const comments = await client.tickets.getComments(id);
  const search = await client.search.query(`type:ticket toaster ${word}`);
  const user = await client.users.createOrUpdate({
    user: { name: `Evelyn ${word}`, email: `${word}@example.com` },
  });
  // The time-based export: the client reads its first page (ticketexport.exportCursor sends
  // cursor=undefined with the start time, which the desk refuses as a cursor it never gave).
  const exported = await client.tickets.incremental(start);
  const exportedUsers = await client.users.incremental(start);
  const users = await client.users.list();
  console.log(
    JSON.stringify({ created, updated, comments, search, user, exported, exportedUsers, users }),
  );
}

main().catch((error) => {
  console.error(error.stack || String(error));
  process.exit(1);
});
