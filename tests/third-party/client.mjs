// A fieldsync client written from docs/PROTOCOL.md and docs/SCHEMA.md alone, in JavaScript
// with Automerge JS 3 and cborg: it logs in, pulls everything in its scope, records a visit to
// the first customer it holds and pushes it, then says what the server answered.
//
//   node client.mjs SERVER_URL USERNAME PASSWORD [--int-latitude]
//
// Prints one JSON line: {"pulled", "customer", "visit", "accepted", "rejected"}; exits 0 when
// the visit was accepted, 1 otherwise. --int-latitude writes the latitude as an integer, which
// SCHEMA.md forbids, to show the error the server gives.

import * as A from "@automerge/automerge";
import { encode, decode } from "cborg";

const [server, username, password, ...flags] = process.argv.slice(2);
if (!server || !username || !password) {
  console.error("usage: node client.mjs SERVER_URL USERNAME PASSWORD [--int-latitude]");
  process.exit(2);
}
const intLatitude = flags.includes("--int-latitude");

// Strings are string scalars (SCHEMA.md, "Writing documents from Automerge JS").
const S = (s) => new A.ImmutableString(s);
// Times: RFC 3339, UTC, whole seconds.
const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, "Z");

async function login() {
  const answer = await fetch(`${server}/v1/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username, password, device_name: "node client" }),
  });
  if (!answer.ok) throw new Error(`login: ${answer.status} ${await answer.text()}`);
  return (await answer.json()).access_token;
}

async function round(token, request) {
  const answer = await fetch(`${server}/v1/sync`, {
    method: "POST",
    headers: { "content-type": "application/cbor", authorization: `Bearer ${token}` },
    body: encode(request),
  });
  const body = new Uint8Array(await answer.arrayBuffer());
  if (!answer.ok) throw new Error(`sync: ${answer.status} ${new TextDecoder().decode(body)}`);
  return decode(body);
}

const text = (v) => (v === null || v === undefined ? v : v.toString());

const token = await login();

// Pull every page; keep each document.
const docs = new Map();
let cursor = 0;
for (;;) {
  const answer = await round(token, { protocol: 1, cursor });
  for (const d of answer.documents) {
    const bytes = new Uint8Array(d.data);
    const known = docs.get(d.id);
    docs.set(d.id, known ? A.loadIncremental(known, bytes) : A.load(bytes));
  }
  cursor = answer.cursor;
  if (!answer.more) break;
}
const customer = [...docs.values()].find((d) => text(d.kind) === "customer");
if (!customer) throw new Error("no customer in this user's scope: create one first");
const customerId = text(customer.id);

// A visit with every key SCHEMA.md lists, optional ones null where unused.
const id = crypto.randomUUID();
const at = now();
const paragraphs = (...lines) => lines.map(S);
let visit = A.change(
  A.init(),
  { message: `${username}\nnode client`, time: Math.floor(Date.now() / 1000) },
  (d) => {
    d.kind = S("visit");
    d.schema = 2;
    d.id = S(id);
    d.customer = S(customerId);
    d.author = S(username);
    d.checkin_at = S(at);
    d.utc_offset_minutes = 480;
    // Float64 is honoured only when assigned to a field, not inside an object literal
    // (there it becomes a map {value}): make the map, then set its floats.
    d.checkin_geo = {};
    d.checkin_geo.lat = intLatitude ? 31 : new A.Float64(31.3);
    d.checkin_geo.lon = new A.Float64(120.6);
    d.visit_type = S("follow_up");
    d.people_met = [
      { id: S(crypto.randomUUID()), name: S("王经理"), title: S("采购经理"), decision_maker: true },
    ];
    d.summary = paragraphs("介绍了新款轴承。", "客户要求寄样品。");
    d.spin = {
      situation: paragraphs("两条产线满负荷。"),
      problem: [],
      implication: [],
      need_payoff: [],
    };
    d.outcome = S("progress");
    d.competitor_intel = [];
    d.samples = [];
    d.quote_amount = null;
    d.order_amount = { amount: 120000, currency: S("CNY") };
    d.next_step = S("寄样品");
    d.next_followup = null;
    d.manager_comments = [];
    d.created_at = S(at);
  },
);

const answer = await round(token, {
  protocol: 1,
  cursor,
  push: [{ id, changes: A.getAllChanges(visit) }],
});
const accepted = answer.accepted.find((a) => a.id === id);
console.log(
  JSON.stringify({
    pulled: docs.size,
    customer: customerId,
    visit: id,
    accepted: accepted ? accepted.heads : null,
    rejected: answer.rejected,
  }),
);
process.exit(accepted ? 0 : 1);
