"use strict";
// Secrets in plain sight: where they hide in flows.json, what is not a secret, and
// that a finding never carries any part of the value.
const assert = require("node:assert/strict");
const { audit } = require("../../../dist/audit");
const F = require("../../helpers/audit-flows");

const z = "t";
const TOKENS = {
  telegram: "5012345678:AAH3xkq9VbQm2LpR7sTzYw1uN8cFeDgHiJk",
  github: "ghp_Z3a9Kq2Lm8Np4Rs6Tu0Vw1Xy7Za5Bc3De9Fg",
  aws: "AKIAIOSFODNN7EXAMPLE",
  jwt: "eyJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJoYS10b2tlbiJ9.dBjftJeZ4CVPmB92K27uhbUJU1p1r_wW1gFWFOEjXk",
  pushover: "azGDORePK8gMaC0QOYAMyEEuzJnyUi",
  password: "Sommer2024!",
};
const secrets = (flows) => audit(flows).findings.filter((f) => f.rule === "plain-secret");
const byId = (flows) => Object.fromEntries(secrets(flows).map((f) => [f.id.replace("plain-secret:", ""), f]));

function assertNoSecretIn(value) {
  const text = JSON.stringify(value);
  for (const [name, s] of Object.entries(TOKENS)) {
    assert.ok(!text.includes(s), `the ${name} secret is not printed`);
    assert.ok(!text.includes(s.slice(0, 8)) || name === "aws", `no prefix of the ${name} secret is printed`);
  }
}

describe("audit: secrets in plain sight", () => {
  it("finds tokens in function code with their line, and literals assigned to secret names", () => {
    const code = [
      "// send the doorbell picture",
      `const BOT = "${TOKENS.telegram}";`,
      `const config = { password: "${TOKENS.password}", user: "me" };`,
      "const token = env.get('TOKEN');",
      "return msg;",
    ].join("\n");
    const s = byId([F.tab(z), F.fn("f", z, code, [[]])]);
    assert.deepEqual(Object.keys(s), ["f:func"]);
    assert.match(s["f:func"].explanation, /line 2/);
    assert.match(s["f:func"].explanation, /line 3/);
    assert.doesNotMatch(s["f:func"].explanation, /line 4/, "env.get is the fix, not a finding");
    assert.match(s["f:func"].title, /Telegram bot token/);
    assertNoSecretIn(s);
  });

  it("finds them in inject props, change rules, http headers, URLs, templates and tab env of type string", () => {
    const flows = [
      F.tab(z, { env: [{ name: "PUSHOVER_TOKEN", value: TOKENS.pushover, type: "str" }, { name: "HA_TOKEN", value: "__PWRD__", type: "cred" }] }),
      F.node("inj", "inject", z, { props: [{ p: "payload" }, { p: "apikey", v: TOKENS.pushover, vt: "str" }, { p: "token", v: "TOKEN_ENV", vt: "env" }] }, [[]]),
      F.node("chg", "change", z, { rules: [{ t: "set", p: "headers.Authorization", pt: "msg", to: `Bearer ${TOKENS.jwt}`, tot: "str" }] }, [[]]),
      F.node("req", "http request", z, { url: "https://user:" + TOKENS.password + "@cam.example.com/snap", headers: [{ keyType: "other", keyValue: "X-API-Key", valueType: "other", valueValue: TOKENS.github }] }, [[]]),
      F.httpReq("q", z, "https://api.openweathermap.org/data/2.5/weather?q=Berlin&appid=0123456789abcdef0123456789abcdef"),
      F.node("tpl", "template", z, { template: `curl -H "Authorization: Basic dXNlcjpzZWNyZXRwYXNz" https://x` }, [[]]),
      F.broker("b", "mqtt://alice:" + TOKENS.password + "@broker.example.com"),
    ];
    const s = byId(flows);
    assert.deepEqual(Object.keys(s).sort(), ["b:broker", "chg:rules", "inj:props", "q:url", "req:headers", "req:url", `${z}:env`, "tpl:template"].sort());
    assert.match(s["q:url"].title, /\?appid=/);
    assert.match(s["req:url"].title, /password in a URL/);
    assert.match(s["tpl:template"].title, /basic-auth/);
    assert.match(s[`${z}:env`].fix.text, /credential/);
    assertNoSecretIn(s);
  });

  it("does not flag references, placeholders, settings that describe secrets, or ciphertexts", () => {
    const flows = [
      F.tab(z),
      F.httpReq("r1", z, "https://api.example.com/x?apikey=${API_KEY}"),
      F.httpReq("r2", z, "https://api.example.com/x?apikey={{apikey}}"),
      F.node("r3", "http request", z, { url: "https://x.example.com", authType: "bearer", passwordType: "str", headers: [] }, [[]]),
      F.node("inj", "inject", z, { props: [{ p: "password", v: "PASS", vt: "env" }, { p: "payload", v: "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..aXY.Y2lwaGVy.dGFn", vt: "str" }] }, [[]]),
      F.fn("f", z, 'const password = msg.payload.password;\nconst token = "";\nnode.warn("token expired");\nreturn msg;', [[]]),
      F.node("c", "comment", z, { info: "Set the password in the broker's Security tab." }, []),
      F.fn("how", z, '// The token: "Authorization: Bearer <token>" (scripts)\nreturn msg;', [[]]),
    ];
    assert.deepEqual(secrets(flows), []);
  });

  it("credentials written into the flow file in clear are a finding (names only)", () => {
    const flows = [F.tab(z), { ...F.broker("b", "localhost"), credentials: { user: "alice", password: TOKENS.password } }];
    const s = byId(flows);
    assert.deepEqual(Object.keys(s), ["b:credentials"]);
    assert.match(s["b:credentials"].explanation, /user, password/);
    assertNoSecretIn(s);
  });

  it("a secret in a disabled node is dormant", () => {
    const s = byId([F.tab(z), { ...F.fn("f", z, `const token = "${TOKENS.github}";`, [[]]), d: true }]);
    assert.equal(s["f:func"].dormant, true);
  });
});
