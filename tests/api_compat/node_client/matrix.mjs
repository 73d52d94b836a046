// Every public method of the official npm parlant-client (3.3.1), unchanged, against our server,
// each result read back. Usage: node matrix.mjs BASE_URL. Prints one JSON line:
// {"called": [...], "all": [...]} and exits non-zero on the first failed check.
import assert from "node:assert/strict";
import { ParlantClient, ParlantError } from "parlant-client";

const baseUrl = process.argv[2];
const raw = new ParlantClient({ environment: baseUrl, baseUrl });
const called = new Set();
const all = new Set();
const client = {};

// The client's resources are getters on its prototype; each gets a recording proxy that notes
// "resource.method" on every call.
for (const name of Object.getOwnPropertyNames(Object.getPrototypeOf(raw))) {
  if (name === "constructor" || name.startsWith("_")) continue;
  const resource = raw[name];
  if (typeof resource !== "object" || resource === null) continue;
  const methods = Object.getOwnPropertyNames(Object.getPrototypeOf(resource)).filter(
    (method) => method !== "constructor" && !method.startsWith("_")
      && typeof resource[method] === "function",
  );
  for (const method of methods) all.add(`${name}.${method}`);
  client[name] = new Proxy(resource, {
    get(target, method) {
      const value = target[method];
      if (typeof value !== "function") return value;
      return (...args) => {
        called.add(`${name}.${String(method)}`);
        return value.apply(target, args);
      };
    },
  });
}

const unique = (name) => `${name}-${Math.random().toString(36).slice(2, 8)}`;

async function failure(call) {
  try {
    await call();
  } catch (error) {
    if (error instanceof ParlantError) return error;
    throw error;
  }
  throw new Error("expected an error answer");
}

async function eventsUntil(sessionId, predicate, minOffset = 0) {
  const deadline = Date.now() + 30000;
  const seen = [];
  while (Date.now() < deadline) {
    let batch;
    try {
      batch = await client.sessions.listEvents(sessionId, { minOffset, waitForData: 5 });
    } catch (error) {
      if (error instanceof ParlantError && error.statusCode === 504) continue;
      throw error;
    }
    seen.push(...batch);
    if (batch.some(predicate)) return seen;
    minOffset = Math.max(...batch.map((event) => event.offset)) + 1;
  }
  throw new Error(`no matching event within 30 s: ${JSON.stringify(seen)}`);
}

// Tags and agents
const tag = await client.tags.create({ name: unique("team") });
assert.equal((await client.tags.retrieve(tag.id)).name, tag.name);
assert.deepEqual((await client.tags.list({ name: tag.name })).map((t) => t.id), [tag.id]);
await client.tags.update(tag.id, { name: unique("crew") });
const agent = await client.agents.create({ name: "Node matrix", tags: [tag.id] });
assert.deepEqual((await client.agents.retrieve(agent.id)).tags, [tag.id]);
assert.ok((await client.agents.list()).some((a) => a.id === agent.id));
await client.agents.update(agent.id, { name: "Node matrix 2", tags: { remove: [tag.id] } });
assert.equal((await client.agents.retrieve(agent.id)).name, "Node matrix 2");
await client.agents.delete(agent.id);
assert.equal((await failure(() => client.agents.retrieve(agent.id))).statusCode, 404);

// Customers
const customer = await client.customers.create({ name: "Dana", metadata: { tier: "gold" } });
assert.deepEqual((await client.customers.retrieve(customer.id)).metadata, { tier: "gold" });
const page = await client.customers.list({ limit: 1000 });
assert.ok(page.items.some((c) => c.id === customer.id));
await client.customers.update(customer.id, { name: "Dana L", metadata: { set: { city: "Haifa" }, unset: ["tier"] } });
assert.deepEqual((await client.customers.retrieve(customer.id)).metadata, { city: "Haifa" });

// Guidelines, relationships, journeys
const first = await client.guidelines.create({ condition: "the customer is upset", action: "apologize" });
const second = await client.guidelines.create({ condition: "the customer greets you", action: "greet back" });
assert.equal((await client.guidelines.retrieve(first.id)).guideline.action, "apologize");
assert.ok((await client.guidelines.list()).some((g) => g.id === first.id));
await client.guidelines.update(first.id, { action: "apologize sincerely" });
assert.equal((await client.guidelines.retrieve(first.id)).guideline.action, "apologize sincerely");
const relationship = await client.relationships.create({ kind: "priority", sourceGuideline: first.id, targetGuideline: second.id });
assert.equal((await client.relationships.retrieve(relationship.id)).kind, "priority");
assert.deepEqual((await client.relationships.list({ guidelineId: second.id })).map((r) => r.id), [relationship.id]);
await client.relationships.delete(relationship.id);
assert.equal((await failure(() => client.relationships.retrieve(relationship.id))).statusCode, 404);
const journey = await client.journeys.create({ title: "Test drive", description: "book one", conditions: ["the customer wants a test drive"] });
assert.equal((await client.journeys.retrieve(journey.id)).title, "Test drive");
assert.ok((await client.journeys.list()).some((j) => j.id === journey.id));
await client.journeys.update(journey.id, { title: "Book a test drive" });
assert.equal((await client.journeys.retrieve(journey.id)).title, "Book a test drive");
assert.ok((await client.journeys.mermaid(journey.id)).startsWith("stateDiagram-v2"));
await client.journeys.delete(journey.id);
await client.guidelines.delete(first.id);
await client.guidelines.delete(second.id);
assert.equal((await failure(() => client.guidelines.retrieve(first.id))).statusCode, 404);

// Glossary, canned responses, capabilities
const term = await client.glossary.createTerm({ name: "APR", description: "rate", tags: [tag.id] });
assert.deepEqual((await client.glossary.listTerms({ tagId: tag.id })).map((t) => t.id), [term.id]);
await client.glossary.updateTerm(term.id, { synonyms: ["interest"] });
assert.deepEqual((await client.glossary.retrieveTerm(term.id)).synonyms, ["interest"]);
await client.glossary.deleteTerm(term.id);
const canned = await client.cannedResponses.create({ value: "Welcome!", fields: [], tags: [tag.id] });
assert.deepEqual((await client.cannedResponses.list({ tags: [tag.id] })).map((c) => c.id), [canned.id]);
await client.cannedResponses.update(canned.id, { value: "Hello!" });
assert.equal((await client.cannedResponses.retrieve(canned.id)).value, "Hello!");
await client.cannedResponses.delete(canned.id);
const capability = await client.capabilities.create({ title: "Book", description: "books", signals: ["book"], tags: [tag.id] });
assert.deepEqual((await client.capabilities.list({ tagId: tag.id })).map((c) => c.id), [capability.id]);
await client.capabilities.update(capability.id, { title: "Book drives" });
assert.equal((await client.capabilities.retrieve(capability.id)).title, "Book drives");
await client.capabilities.delete(capability.id);

// Context variables
const variable = await client.contextVariables.create({ name: "hours", description: "open", tags: [tag.id] });
assert.deepEqual((await client.contextVariables.list({ tagId: tag.id })).map((v) => v.id), [variable.id]);
assert.equal((await client.contextVariables.setValue(variable.id, "DEFAULT", { data: "9-5" })).data, "9-5");
assert.equal((await client.contextVariables.getValue(variable.id, "DEFAULT")).data, "9-5");
assert.deepEqual(Object.keys((await client.contextVariables.retrieve(variable.id, { includeValues: true })).keyValuePairs), ["DEFAULT"]);
await client.contextVariables.deleteValue(variable.id, "DEFAULT");
await client.contextVariables.update(variable.id, { name: "opening hours" });
assert.equal((await client.contextVariables.retrieve(variable.id)).contextVariable.name, "opening hours");
await client.contextVariables.delete(variable.id);
await client.contextVariables.create({ name: "doomed", tags: [tag.id] });
await client.contextVariables.deleteMany({ tagId: tag.id });
assert.deepEqual(await client.contextVariables.list({ tagId: tag.id }), []);

// Services: listed and read; remote registration and deleting code services are refused.
assert.ok((await client.services.list()).some((s) => s.name === "behavior"));
assert.ok((await client.services.retrieve("behavior")).tools.length > 0);
const refused = await failure(() => client.services.createOrUpdate("remote", { kind: "openapi", openapi: { url: "http://127.0.0.1:9/", source: "x.json" } }));
assert.equal(refused.statusCode, 422);
assert.match(refused.body.detail, /not supported/);
assert.equal((await failure(() => client.services.delete("behavior"))).statusCode, 422);

// Sessions and events
const session = await client.sessions.create({ agentId: "otto-carmen", customerId: customer.id, title: "node", labels: ["vip"] });
assert.equal((await client.sessions.retrieve(session.id)).title, "node");
assert.deepEqual((await client.sessions.list({ customerId: customer.id })).map((s) => s.id), [session.id]);
await client.sessions.update(session.id, { title: "node 2", labels: { upsert: ["gold"] } });
assert.equal((await client.sessions.retrieve(session.id)).title, "node 2");
const message = await client.sessions.createEvent(session.id, { kind: "message", source: "customer", message: "Hello there!" });
const seen = await eventsUntil(session.id, (e) => e.kind === "status" && e.data.status === "ready" && e.traceId === message.traceId);
const reply = seen.find((e) => e.kind === "message" && e.source === "ai_agent");
assert.equal(reply.traceId, message.traceId);
assert.equal((await client.sessions.readEvent(session.id, reply.id)).id, reply.id);
await client.sessions.updateEvent(session.id, reply.id, { metadata: { set: { rating: 5 } } });
assert.deepEqual((await client.sessions.readEvent(session.id, reply.id)).metadata, { rating: 5 });
// The local provider says only approved text: the words for the instruction are the agent's canned response.
await client.cannedResponses.create({ value: "Our showroom closes at six today.", fields: [], tags: ["agent:otto-carmen"] });
const trigger = await client.sessions.createEvent(session.id, { kind: "message", source: "ai_agent", guidelines: [{ action: "say that the showroom closes at six" }] });
// Until the turn's "ready": then it is over, and a cancellation has nothing to cancel.
const spoken = await eventsUntil(session.id, (e) => e.kind === "status" && e.data.status === "ready" && e.traceId === trigger.traceId, trigger.offset + 1);
assert.ok(spoken.some((e) => e.kind === "message" && /six/i.test(e.data.message)));
assert.equal((await failure(() => client.sessions.createEvent(session.id, { kind: "status", source: "customer", status: "cancelled" }))).statusCode, 409);
const events = await client.sessions.listEvents(session.id, { waitForData: 0 });
const last = events[events.length - 1];
await client.sessions.deleteEvents(session.id, { minOffset: last.offset });
const after = await client.sessions.listEvents(session.id, { waitForData: 0 });
assert.ok(after[after.length - 1].offset < last.offset);
await client.sessions.delete(session.id);
assert.equal((await failure(() => client.sessions.retrieve(session.id))).statusCode, 404);
await client.sessions.create({ agentId: "otto-carmen", customerId: customer.id });
await client.sessions.deleteMany({ customerId: customer.id });
assert.deepEqual(await client.sessions.list({ customerId: customer.id }), []);
await client.customers.delete(customer.id);
await client.tags.delete(tag.id);

// Evaluations: a JSON 404 that names the missing feature.
const evaluation = await failure(() => client.evaluations.create({ payloads: [{ kind: "guideline", guideline: { content: { condition: "x", action: "y" }, toolIds: [], operation: "add" } }] }));
assert.equal(evaluation.statusCode, 404);
assert.match(evaluation.body.detail, /Evaluations are not supported/);
assert.equal((await failure(() => client.evaluations.retrieve("any-id"))).statusCode, 404);

console.log(JSON.stringify({ called: [...called].sort(), all: [...all].sort() }));
