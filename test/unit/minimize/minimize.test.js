"use strict";
const assert = require("node:assert/strict");
const fc = require("fast-check");
const M = require("../../../dist/minimize/minimize");
const { validateConfig } = require("../../../dist/core/validation");

/** Validates and compiles a config the way the node does; throws on an invalid one. */
function plan(config) {
  const v = validateConfig(M.minimizeSchema, config);
  if (!v.ok) throw new Error(v.error);
  return M.compile(v.value);
}
function run(config, msg) {
  return M.minimize(plan(config), msg);
}
const keep = (rules, extra = {}) => ({ mode: "keep", rules, ...extra });
const remove = (rules, extra = {}) => ({ mode: "remove", rules, ...extra });

function reading() {
  return {
    _msgid: "m1",
    topic: "meter/7",
    req: { ip: "10.0.0.2" },
    res: { id: 1 },
    headers: { cookie: "sid=1" },
    cookies: { sid: "1" },
    payload: {
      deviceId: "dev-7",
      owner: "Alice Example",
      power: 1234.5678,
      gps: { lat: 52.520008, lon: 13.404954, acc: 4 },
      ts: "2024-05-01T10:23:45.678Z",
      readings: [
        { v: 1.26, at: 1714558991, raw: "x" },
        { v: 2.74, at: 1714559000, raw: "y" },
      ],
    },
  };
}

describe("lib/minimize", () => {
  describe("keep mode", () => {
    it("lets only listed paths out, nested and through array wildcards", () => {
      const { msg, summary } = run(
        keep([{ path: "power" }, { path: "gps.lat" }, { path: "readings[*].v" }]),
        reading(),
      );
      assert.deepEqual(msg.payload, {
        power: 1234.5678,
        gps: { lat: 52.520008 },
        readings: [{ v: 1.26 }, { v: 2.74 }],
      });
      // keys no rule names are counted, not named: they were found in the data
      assert.deepEqual(summary.removed, []);
      assert.equal(summary.unlisted, 9, "deviceId, owner, ts, gps.lon, gps.acc, and two readings each lose at and raw");
      assert.equal(summary.removedCount, 9);
      assert.equal(summary.missing, 0);
    });

    it("keeps a whole subtree and removes a path inside it", () => {
      const { msg } = run(keep([{ path: "gps" }, { path: "gps.acc", op: "remove" }]), reading());
      assert.deepEqual(msg.payload, { gps: { lat: 52.520008, lon: 13.404954 } });
    });

    it("a kept path keeps its whole value; deeper rules refine only what they name", () => {
      const gps = { lat: 52.52, lon: 13.4, meta: { accuracy: 4, fix: "3d", sats: [7, 9] } };
      const a = run(keep([{ path: "gps" }, { path: "gps.meta.accuracy", op: "remove" }]), {
        payload: { gps, owner: "x" },
      });
      assert.deepEqual(a.msg.payload, { gps: { lat: 52.52, lon: 13.4, meta: { fix: "3d", sats: [7, 9] } } });
      const readings = [{ v: 1.26, at: 1, unit: "W" }, { v: 2.74, at: 2, note: { a: 1 } }, { at: 3 }];
      const b = run(keep([{ path: "readings" }, { path: "readings[*].v", op: "round" }]), {
        payload: { readings, owner: "x" },
      });
      assert.deepEqual(b.msg.payload, {
        readings: [{ v: 1, at: 1, unit: "W" }, { v: 3, at: 2, note: { a: 1 } }, { at: 3 }],
      });
      // a literal kept beside a `*` rule keeps its whole value; the other keys only what `*` names
      const c = run(keep([{ path: "dev.a" }, { path: "dev.*.meta.x" }]), {
        payload: { dev: { a: { meta: { x: 1, y: 2 }, z: 3 }, b: { meta: { x: 4, y: 5 }, z: 6 } } },
      });
      assert.deepEqual(c.msg.payload, { dev: { a: { meta: { x: 1, y: 2 }, z: 3 }, b: { meta: { x: 4 } } } });
    });

    it("handles nested arrays with wildcards at several levels", () => {
      const payload = {
        sites: [
          {
            name: "a",
            rooms: [
              { t: 20, who: "x" },
              { t: 21, who: "y" },
            ],
          },
          { name: "b", rooms: [{ who: "z" }] },
        ],
      };
      const { msg } = run(keep([{ path: "sites[*].rooms[*].t" }]), { payload });
      // a room with nothing kept goes, and a site with no room left goes with it
      assert.deepEqual(msg.payload, { sites: [{ rooms: [{ t: 20 }, { t: 21 }] }] });
    });

    it("matches `*` over object keys and lets a literal sibling add to it", () => {
      const payload = { dev: { a: { rssi: -70, mac: "m1" }, b: { rssi: -40, mac: "m2", fw: "1.2" } } };
      const { msg, summary } = run(keep([{ path: "dev.*.rssi" }, { path: "dev.b.fw" }]), { payload });
      assert.deepEqual(msg.payload, { dev: { a: { rssi: -70 }, b: { rssi: -40, fw: "1.2" } } });
      assert.deepEqual(summary.removed, [], "keys no rule names are counted, not named");
      assert.equal(summary.unlisted, 2);
    });

    it("a literal index keeps that element at its position (null before it), `*` alone closes gaps", () => {
      const { msg } = run(keep([{ path: "readings[1].v" }]), reading());
      assert.deepEqual(msg.payload, { readings: [null, { v: 2.74 }] });
      const payload = { items: [{ a: 1 }, { b: 2 }, { v: 3, w: 4 }, { x: 5 }] };
      const mixed = run(keep([{ path: "items[*].v" }, { path: "items[2].w" }]), { payload });
      assert.deepEqual(
        mixed.msg.payload,
        { items: [null, null, { v: 3, w: 4 }] },
        "w stays at index 2, where it is allowed",
      );
      const wild = run(keep([{ path: "items[*].v" }]), { payload });
      assert.deepEqual(wild.msg.payload, { items: [{ v: 3 }] });
    });

    it("an array closes up unless a rule names an index: a literal such as `t` from `*.t` does not", () => {
      const payload = { readings: ["x", { value: 1 }, { other: 2 }, { value: 3 }], a: { t: 1 } };
      const expected = { readings: [{ value: 1 }, { value: 3 }], a: { t: 1 } };
      assert.deepEqual(run(keep([{ path: "*.t" }, { path: "readings[*].value" }]), { payload }).msg.payload, expected);
      const alone = run(keep([{ path: "readings[*].value" }]), { payload }).msg.payload;
      assert.deepEqual(alone, { readings: expected.readings }, "the same array with or without the unrelated rule");
      // a literal that is an index, even through `*`, still keeps positions
      const indexed = run(keep([{ path: "*[3]" }, { path: "readings[*].value" }]), { payload }).msg.payload;
      assert.deepEqual(indexed, { readings: [null, { value: 1 }, null, { value: 3 }] });
    });

    it("drops a primitive where only paths below it are kept", () => {
      const { msg, summary } = run(keep([{ path: "gps.lat" }]), { payload: { gps: "Berlin" } });
      assert.deepEqual(msg.payload, {});
      assert.deepEqual(summary.removed, []);
      assert.equal(summary.unlisted, 1);
      assert.equal(summary.missing, 1);
    });

    it("works on another property and on an array at the top", () => {
      const { msg } = run(keep([{ path: "a" }], { property: "data.inner" }), {
        data: { inner: { a: 1, b: 2 }, other: 3 },
        payload: 9,
      });
      assert.deepEqual(msg.data, { inner: { a: 1 }, other: 3 });
      assert.equal(msg.payload, undefined, "payload is not on the keep list of top-level properties");
      const arr = run(keep([{ path: "[*].id" }]), { payload: [{ id: 1, n: "a" }, { id: 2 }] });
      assert.deepEqual(arr.msg.payload, [{ id: 1 }, { id: 2 }]);
    });

    it("refuses a payload that is not an object unless told to pass it", () => {
      for (const payload of ["text", Buffer.from("abc"), 42, null]) {
        assert.throws(
          () => run(keep([{ path: "a" }]), { payload }),
          (e) => e instanceof M.MinimizeError && /msg\.payload is .*not an object/.test(e.message),
        );
      }
      assert.throws(() => run(keep([{ path: "a" }]), { topic: "x" }), /msg\.payload is missing/);
      const buf = Buffer.from("abc");
      const { msg, summary } = run(keep([{ path: "a" }], { nonObject: "pass" }), { payload: buf, req: {} });
      assert.equal(msg.payload, buf);
      assert.equal(msg.req, undefined, "metadata is still stripped");
      assert.equal(summary.untouched, "a Buffer");
      assert.equal(summary.missing, 1);
    });
  });

  describe("remove mode", () => {
    it("removes listed paths and keeps everything else", () => {
      const { msg, summary } = run(
        remove([
          { path: "owner", op: "remove" },
          { path: "readings[*].raw", op: "remove" },
          { path: "gps.acc", op: "remove" },
        ]),
        reading(),
      );
      const expected = reading().payload;
      delete expected.owner;
      delete expected.gps.acc;
      expected.readings.forEach((r) => delete r.raw);
      assert.deepEqual(msg.payload, expected);
      assert.deepEqual(summary.removed.sort(), ["payload.gps.acc", "payload.owner", "payload.readings[*].raw"]);
      assert.equal(summary.removedCount, 4);
      assert.equal(summary.unlisted, 0);
    });

    it("applies transforms and leaves unlisted fields alone", () => {
      const { msg, summary } = run(remove([{ path: "power", op: "round", decimals: 0 }]), reading());
      assert.equal(msg.payload.power, 1235);
      assert.equal(msg.payload.owner, "Alice Example");
      assert.deepEqual(summary.coarsened, ["payload.power"]);
    });

    it("passes a non-object payload untouched (nothing to remove)", () => {
      const { msg, summary } = run(remove([{ path: "a", op: "remove" }]), { payload: "text" });
      assert.equal(msg.payload, "text");
      assert.equal(summary.untouched, "a string");
    });

    it("removes array elements and whole subtrees", () => {
      const { msg } = run(
        remove([
          { path: "readings[0]", op: "remove" },
          { path: "gps", op: "remove" },
        ]),
        reading(),
      );
      assert.deepEqual(msg.payload.readings, [reading().payload.readings[1]]);
      assert.equal("gps" in msg.payload, false);
    });
  });

  describe("transforms", () => {
    const one = (rule, value) => run(keep([{ path: "x", ...rule }]), { payload: { x: value } }).msg.payload.x;

    it("keeps a huge finite number finite: it has no fraction to round (1e308 to 1 decimal is 1e308)", () => {
      for (const v of [1e308, -1e308, Number.MAX_VALUE, 1.5e307, 2 ** 53 + 2]) {
        assert.equal(one({ op: "round", decimals: 1 }, v), v);
        assert.equal(one({ op: "round", decimals: 10 }, v), v);
        assert.equal(one({ op: "round", step: 0.5 }, v), v);
      }
      assert.ok(Number.isFinite(one({ op: "round", step: 100 }, Number.MAX_VALUE)));
      const below = one({ op: "round", decimals: 1 }, 1e14 + 0.26);
      assert.ok(Math.abs(below - (1e14 + 0.3)) < 0.02, `below 2^52 once scaled it is still rounded: ${below}`);
    });

    it("rounds to decimals and to a step without binary noise", () => {
      assert.equal(one({ op: "round", decimals: 2 }, 3.14159), 3.14);
      assert.equal(one({ op: "round" }, 2.5), 3);
      assert.equal(one({ op: "round", step: 0.5 }, 7.26), 7.5);
      assert.equal(one({ op: "round", step: 0.1 }, 0.29), 0.3);
      assert.equal(one({ op: "round", step: 10 }, 1234), 1230);
      assert.equal(one({ op: "round", step: 0.25 }, -1.1), -1);
    });

    it("coarsens coordinates given as numbers, objects and GeoJSON pairs", () => {
      assert.equal(one({ op: "coordinates", decimals: 2 }, 52.520008), 52.52);
      assert.deepEqual(one({ op: "coordinates", decimals: 1 }, { lat: 52.520008, lng: 13.404954, acc: 3 }), {
        lat: 52.5,
        lng: 13.4,
        acc: 3,
      });
      assert.deepEqual(one({ op: "coordinates", decimals: 1 }, [13.404954, 52.520008, 34]), [13.4, 52.5, 34]);
      assert.deepEqual(one({ op: "coordinates", decimals: 0 }, { latitude: 1.6, longitude: -2.6 }), {
        latitude: 2,
        longitude: -3,
      });
    });

    it("encodes a geohash (reference vector) from an object or a [lon, lat] pair", () => {
      // The example on the geohash Wikipedia page: 57.64911, 10.40744 -> u4pruydqqvj
      assert.equal(M.geohash(57.64911, 10.40744, 11), "u4pruydqqvj");
      assert.equal(
        one({ op: "coordinates", method: "geohash", precision: 5 }, { lat: 57.64911, lon: 10.40744 }),
        "u4pru",
      );
      assert.equal(one({ op: "coordinates", method: "geohash", precision: 3 }, [10.40744, 57.64911]), "u4p");
      assert.equal(M.geohash(-33.8688, 151.2093, 6), "r3gx2f", "Sydney");
    });

    it("truncates ISO strings, epoch seconds, epoch milliseconds and Dates", () => {
      const iso = "2024-05-01T10:23:45.678Z";
      const ms = Date.parse(iso);
      assert.equal(one({ op: "time", unit: "minute" }, iso), "2024-05-01T10:23:00.000Z");
      assert.equal(one({ op: "time", unit: "hour" }, "2024-05-01T12:23:45+02:00"), "2024-05-01T10:00:00.000Z");
      assert.equal(one({ op: "time", unit: "day" }, iso), "2024-05-01T00:00:00.000Z");
      assert.equal(one({ op: "time", unit: "hour" }, ms), Date.parse("2024-05-01T10:00:00Z"));
      assert.equal(one({ op: "time", unit: "hour" }, ms / 1000), Date.parse("2024-05-01T10:00:00Z") / 1000);
      assert.equal(
        one({ op: "time", unit: "minute", epoch: "ms" }, 90_500),
        60_000,
        "small values read as ms when told",
      );
      assert.equal(
        one({ op: "time", unit: "minute", epoch: "s" }, 6e11 + 59),
        6e11,
        "large values read as seconds when told",
      );
      const d = run(keep([{ path: "x", op: "time", unit: "day" }]), { payload: { x: new Date(ms) } }).msg.payload.x;
      assert.ok(d instanceof Date);
      assert.equal(d.toISOString(), "2024-05-01T00:00:00.000Z");
    });

    it("the fast path for UTC ISO strings agrees with Date.parse + toISOString", () => {
      const UNIT = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };
      fc.assert(
        fc.property(
          fc.date({
            min: new Date("1000-01-01T00:00:00Z"),
            max: new Date("9999-12-31T23:59:59Z"),
            noInvalidDate: true,
          }),
          fc.constantFrom("ms", "s", "min"),
          fc.constantFrom("minute", "hour", "day"),
          (d, form, unit) => {
            const full = d.toISOString();
            const text = form === "ms" ? full : form === "s" ? `${full.slice(0, 19)}Z` : `${full.slice(0, 16)}Z`;
            const expected = new Date(Math.floor(Date.parse(text) / UNIT[unit]) * UNIT[unit]).toISOString();
            assert.equal(M.truncateUtcIso(text, unit), expected);
          },
        ),
        { numRuns: 500 },
      );
      assert.equal(M.truncateUtcIso("2024-02-30T10:00:00Z", "hour"), null, "an impossible day takes the general path");
      assert.equal(M.truncateUtcIso("2023-02-29T10:00:00Z", "hour"), null);
      assert.equal(M.truncateUtcIso("2024-02-29T10:00:00Z", "day"), "2024-02-29T00:00:00.000Z");
    });

    it("buckets numbers into labelled ranges", () => {
      const rule = {
        op: "bucket",
        buckets: [
          { below: 18, label: "under 18" },
          { below: 65, label: "18-64" },
        ],
        above: "65+",
      };
      assert.deepEqual(
        [5, 18, 64.9, 65, 99].map((v) => one(rule, v)),
        ["under 18", "18-64", "18-64", "65+", "65+"],
      );
      assert.equal(one({ op: "bucket", buckets: [{ below: 0, label: "neg" }] }, 3), ">= 0");
    });

    it("caps string length without splitting a surrogate pair", () => {
      assert.equal(one({ op: "cap", max: 3 }, "abcdef"), "abc");
      assert.equal(one({ op: "cap", max: 10 }, "abc"), "abc");
      assert.equal(one({ op: "cap", max: 2 }, "a😀b"), "a");
      assert.equal(one({ op: "cap", max: 0 }, "abc"), "");
    });

    it("applies transforms to every wildcard match and names them once", () => {
      const { msg, summary } = run(
        keep([
          { path: "readings[*].v", op: "round", step: 0.5 },
          { path: "readings[*].at", op: "time", unit: "hour" },
        ]),
        reading(),
      );
      assert.deepEqual(msg.payload.readings, [
        { v: 1.5, at: 1714557600 },
        { v: 2.5, at: 1714557600 },
      ]);
      assert.deepEqual(summary.coarsened, ["payload.readings[*].v", "payload.readings[*].at"]);
    });
  });

  describe("bad input", () => {
    it("skips a path that does not exist and counts it", () => {
      const { msg, summary } = run(
        keep([{ path: "power" }, { path: "nope.deeper" }, { path: "gps.alt", op: "round" }]),
        reading(),
      );
      assert.deepEqual(msg.payload, { power: 1234.5678 });
      assert.equal(summary.missing, 2);
    });

    it("a transform on the wrong type is an error naming the path, not the value, and changes nothing", () => {
      const input = reading();
      const before = structuredClone(input);
      assert.throws(
        () =>
          run(
            keep([
              { path: "power", op: "round" },
              { path: "owner", op: "round" },
            ]),
            input,
          ),
        (e) =>
          e instanceof M.MinimizeError &&
          e.message === "msg.payload.owner: round needs a number, got a string" &&
          !e.message.includes("Alice"),
      );
      assert.deepEqual(input, before, "the input message is untouched");
    });

    it("drop-field removes a mistyped field instead and reports it", () => {
      const { msg, summary } = run(
        keep([{ path: "power" }, { path: "owner", op: "round" }, { path: "ts", op: "cap", max: 3 }], {
          onTypeMismatch: "drop-field",
        }),
        {
          payload: { power: 1, owner: "Alice", ts: 7 },
        },
      );
      assert.deepEqual(msg.payload, { power: 1 });
      assert.deepEqual(summary.dropped, ["payload.owner", "payload.ts"]);
    });

    it("a payload that refers to itself: the walk goes only as deep as the rules, so it ends, and a kept value is kept as it is", () => {
      const payload = { a: 1, b: { c: 2 } };
      payload.b.self = payload;
      const hostile = JSON.parse('{"__proto__": 1, "x": {}}');
      hostile.x.self = hostile;
      const all = run(keep([{ path: "*" }]), { payload: hostile }).msg.payload;
      assert.equal(all.x, hostile.x, "the kept value is shared, not walked");
      assert.equal(Object.getOwnPropertyDescriptor(all, "__proto__").value, 1);
      for (const config of [remove([{ path: "a", op: "remove" }]), keep([{ path: "b" }])]) {
        const out = run(config, { payload }).msg.payload;
        assert.deepEqual(Object.keys(out), ["b"]);
        assert.equal(out.b, payload.b);
      }
    });

    it("treats a bad date string and a coordinate out of range as the wrong type", () => {
      assert.throws(
        () => run(keep([{ path: "x", op: "time", unit: "hour" }]), { payload: { x: "yesterday" } }),
        /time needs/,
      );
      assert.throws(
        () =>
          run(keep([{ path: "x", op: "coordinates", method: "geohash", precision: 4 }]), {
            payload: { x: { lat: 95, lon: 0 } },
          }),
        /coordinates needs/,
      );
      assert.throws(() => run(keep([{ path: "x", op: "round" }]), { payload: { x: NaN } }), /got NaN/);
    });
  });

  describe("the summary names rule paths and counts, never a key found in the data", () => {
    const email = "alice@example.com";
    const uuid = "3f0c8a2e-9b1d-4c6a-8e2f-5d7b1a9c4e60";
    const input = () =>
      JSON.parse(
        JSON.stringify({
          [uuid]: "x",
          req: { ip: "10.0.0.2" },
          payload: {
            [email]: { v: 1.26, s: "a" },
            [uuid]: { v: 2.5 },
            meta: { [email]: 1 },
            list: [{ [uuid]: 1, v: 3.3 }],
            gps: { lat: 1, [email]: 2 },
          },
        }),
      );
    const configs = [
      keep([{ path: "*.v", op: "round" }, { path: "gps.lat" }]),
      keep([{ path: "meta" }, { path: "list[*].v", op: "round" }]),
      keep([{ path: "gps" }, { path: "*.s", op: "remove" }]),
      remove([
        { path: "*.v", op: "round" },
        { path: "meta.*", op: "remove" },
        { path: "list[*]", op: "remove" },
      ]),
      remove([{ path: "*", op: "remove" }]),
      keep(
        [
          { path: "*.s", op: "cap", max: 0 },
          { path: "*.v", op: "round", step: 0.5 },
        ],
        { onTypeMismatch: "drop-field" },
      ),
      keep([{ path: "*.s", op: "round" }], { onTypeMismatch: "drop-field" }),
    ];
    for (const config of configs) {
      it(`${config.mode} ${config.rules.map((r) => `${r.op} ${r.path}`).join(", ")}`, () => {
        const { msg, summary } = run(config, input());
        const text = JSON.stringify(summary);
        for (const k of [email, uuid]) assert.ok(!text.includes(k), text);
        // what the summary names is a configured rule path or a transport property
        const rulePaths = config.rules.map((r) => `payload.${r.path}`);
        for (const name of [...summary.removed, ...summary.coarsened, ...summary.dropped])
          assert.ok(rulePaths.includes(name), name);
        assert.deepEqual(summary.stripped, ["req"]);
        assert.equal(summary.strippedCount, 2);
        assert.equal(msg[uuid], undefined);
      });
    }

    it("an error under `*` names the rule's path, not the key", () => {
      assert.throws(
        () => run(keep([{ path: "*.s", op: "round" }]), { payload: { [email]: { s: "a" } } }),
        (e) => e instanceof M.MinimizeError && e.message === "msg.payload.*.s: round needs a number, got a string",
      );
    });
  });

  describe("transport metadata", () => {
    it("strips req, res, headers, cookies and anything not kept; keeps _msgid, topic, the property and the trail", () => {
      const input = { ...reading(), privacy: { trail: [{ type: "x", id: "1" }] }, secretThing: 1, _linkSource: ["a"] };
      const { msg, summary } = run(keep([{ path: "power" }]), input);
      assert.deepEqual(Object.keys(msg).sort(), ["_linkSource", "_msgid", "payload", "privacy", "topic"]);
      // transport names are named; secretThing, a name found in the message, only counted
      assert.deepEqual(summary.stripped, ["req", "res", "headers", "cookies"]);
      assert.equal(summary.strippedCount, 5);
      assert.equal(msg.privacy, input.privacy);
    });

    it("keeps listed properties, or everything when stripping is off", () => {
      assert.deepEqual(
        Object.keys(run(keep([], { keepProperties: ["parts"] }), { payload: {}, parts: {}, req: {} }).msg).sort(),
        ["parts", "payload"],
      );
      const all = run(keep([], { stripMetadata: false }), { payload: {}, req: { a: 1 } });
      assert.deepEqual(all.msg.req, { a: 1 });
      assert.deepEqual(all.summary.stripped, []);
    });
  });

  describe("config", () => {
    const bad = [
      [keep([{ path: "a.__proto__.b" }]), /not allowed/],
      [keep([{ path: "constructor" }]), /not allowed/],
      [keep([{ path: "a", op: "explode" }]), /op/],
      [keep([{ path: "a", op: "round", decimals: 1, step: 0.5 }]), /decimals or a step/],
      [keep([{ path: "a", op: "round", step: 0 }]), /step/],
      [keep([{ path: "a", op: "coordinates", method: "geohash" }]), /precision/],
      [keep([{ path: "a", op: "time" }]), /unit/],
      [keep([{ path: "a", op: "cap" }]), /max/],
      [
        keep([
          {
            path: "a",
            op: "bucket",
            buckets: [
              { below: 5, label: "x" },
              { below: 5, label: "y" },
            ],
          },
        ]),
        /ascending/,
      ],
      [keep([{ path: "a" }, { path: "a", op: "round" }]), /rules\[1\].*same path as "rules\[0\]"/],
      [keep([{ path: "a[0]" }, { path: 'a["0"]', op: "remove" }]), /same path/],
      [{ mode: "keep", property: "payload.*" }, /cannot contain/],
      [{ mode: "shrink" }, /mode/],
      [keep([], { keepProperties: ["a b"] }), /keepProperties/],
    ];
    for (const [config, pattern] of bad) {
      it(`refuses ${JSON.stringify(config)}`, () => assert.throws(() => plan(config), pattern));
    }

    it("defaults to keep mode, payload, error on mismatch, stripping on", () => {
      const v = validateConfig(M.minimizeSchema, {});
      assert.equal(v.ok, true);
      assert.deepEqual(
        {
          mode: v.value.mode,
          property: v.value.property,
          onTypeMismatch: v.value.onTypeMismatch,
          stripMetadata: v.value.stripMetadata,
          nonObject: v.value.nonObject,
        },
        { mode: "keep", property: "payload", onTypeMismatch: "error", stripMetadata: true, nonObject: "error" },
      );
    });

    it("`allows` answers for concrete paths", () => {
      const p = plan(keep([{ path: "a.b" }, { path: "c" }, { path: "c.d", op: "remove" }, { path: "e[*].f" }]));
      assert.equal(M.allows(p, ["a", "b"]), true);
      assert.equal(M.allows(p, ["a"]), false);
      assert.equal(M.allows(p, ["c", "x"]), true);
      assert.equal(M.allows(p, ["c", "d"]), false);
      assert.equal(M.allows(p, ["e", 3, "f"]), true);
      assert.equal(M.allows(p, ["z"]), false);
    });
  });

  describe("prototype pollution", () => {
    // JSON.parse makes own __proto__, constructor and prototype keys: `*` treats them as
    // data, like any key, and the output has them as own data properties.
    const TEXT =
      '{"dev":{"secret":"s1","v":1.26},"__proto__":{"secret":"s2","v":2.74},"constructor":{"secret":"s3","v":3.5},"prototype":{"secret":"s4","v":4.4}}';
    const KEYS = ["dev", "__proto__", "constructor", "prototype"];
    const own = (o, k) => Object.getOwnPropertyDescriptor(o, k).value;
    function checkShape(payload) {
      assert.deepEqual(Object.keys(payload), KEYS);
      assert.equal(Object.getPrototypeOf(payload), Object.prototype);
      for (const k of KEYS) assert.equal(Object.getPrototypeOf(own(payload, k)), Object.prototype, k);
      assert.equal({}.secret, undefined);
      assert.equal(Object.prototype.secret, undefined);
      assert.equal(Object.prototype.v, undefined);
    }

    it("remove mode: `*.secret` removes the secret under every own key, `*.v` rounds every v", () => {
      const input = { payload: JSON.parse(TEXT) };
      const { msg } = run(
        remove([
          { path: "*.secret", op: "remove" },
          { path: "*.v", op: "round" },
        ]),
        input,
      );
      checkShape(msg.payload);
      assert.equal(
        JSON.stringify(msg.payload),
        '{"dev":{"v":1},"__proto__":{"v":3},"constructor":{"v":4},"prototype":{"v":4}}',
      );
      assert.equal(JSON.stringify(input.payload), TEXT, "the input is not changed");
    });

    it("keep mode: `*.secret` keeps, `*.v` rounds, under every own key, and the rest goes", () => {
      const { msg } = run(keep([{ path: "*.secret" }, { path: "*.v", op: "round", decimals: 1 }]), {
        payload: JSON.parse(TEXT),
      });
      checkShape(msg.payload);
      assert.equal(
        JSON.stringify(msg.payload),
        '{"dev":{"secret":"s1","v":1.3},"__proto__":{"secret":"s2","v":2.7},"constructor":{"secret":"s3","v":3.5},"prototype":{"secret":"s4","v":4.4}}',
      );
      const only = run(keep([{ path: "*.v", op: "round" }]), { payload: JSON.parse(TEXT) }).msg.payload;
      checkShape(only);
      assert.equal(
        JSON.stringify(only),
        '{"dev":{"v":1},"__proto__":{"v":3},"constructor":{"v":4},"prototype":{"v":4}}',
      );
    });

    it("a value kept whole keeps such keys inside it as data; a literal rule path naming them is still refused", () => {
      const payload = JSON.parse(
        '{"a": {"__proto__": {"polluted": 1}, "constructor": {"prototype": {"polluted": 2}}, "b": 1}, "prototype": 3}',
      );
      for (const config of [
        keep([{ path: "a" }]),
        keep([{ path: "a.*" }, { path: "*" }]),
        remove([{ path: "a.b", op: "remove" }]),
      ]) {
        const { msg } = run(config, { payload });
        const a = msg.payload.a;
        assert.equal(own(own(a, "__proto__"), "polluted"), 1);
        assert.equal(Object.getPrototypeOf(a), Object.prototype);
        assert.equal({}.polluted, undefined);
      }
      assert.throws(() => plan(remove([{ path: "a.__proto__", op: "remove" }])), /not allowed/);
    });

    it("rules that must step into a Map or a Set fail instead of letting its entries pass", () => {
      const payload = { devs: new Map([["a", { mac: "m" }]]) };
      for (const config of [remove([{ path: "devs.*.mac", op: "remove" }]), keep([{ path: "devs.a" }])]) {
        assert.throws(
          () => run(config, { payload }),
          (e) =>
            e instanceof M.MinimizeError && /^msg\.payload\.devs\.(\*\.mac|a): a Map is in the way/.test(e.message),
        );
      }
      assert.equal(
        run(keep([{ path: "devs" }]), { payload }).msg.payload.devs,
        payload.devs,
        "kept whole, it is a value",
      );
      // the property itself: passed untouched, its entries would leave whatever the rules say
      for (const config of [remove([{ path: "*.mac", op: "remove" }]), keep([{ path: "a" }], { nonObject: "pass" })]) {
        assert.throws(
          () => run(config, { payload: new Map([["a", { mac: "m" }]]) }),
          /^MinimizeError: msg\.payload is a Map: no rule can reach its entries$/,
        );
      }
    });

    it("drops an own __proto__ property on the message itself", () => {
      const msg = JSON.parse('{"payload": {"a": 1}, "__proto__": {"x": 1}}');
      const out = run(keep([{ path: "a" }], { stripMetadata: false }), msg).msg;
      assert.equal(Object.prototype.hasOwnProperty.call(out, "__proto__"), false);
      assert.equal(out.x, undefined);
    });
  });

  describe("properties (fast-check)", () => {
    const KEYS = ["a", "b", "c", "__proto__", "constructor", "prototype", "0"];
    const json = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: "small" },
        fc.integer(),
        fc.string(),
        fc.constant(null),
        fc.boolean(),
        fc.double(),
        tie("obj"),
        tie("arr"),
      ),
      obj: fc.dictionary(fc.constantFrom(...KEYS), tie("value"), { maxKeys: 4 }),
      arr: fc.array(tie("value"), { maxLength: 3 }),
    }));
    const pattern = fc.array(fc.constantFrom("a", "b", "c", "*", 0, 1), { minLength: 1, maxLength: 3 });
    const toText = (segs) =>
      segs
        .map((s, i) => (typeof s === "number" ? `[${s}]` : s === "*" ? (i === 0 ? "*" : ".*") : i === 0 ? s : `.${s}`))
        .join("");

    /**
     * Leaf paths of a value: primitives and empty containers below the root. A null
     * array element holds no data (it keeps later elements at their index): not a leaf.
     */
    function leaves(v, prefix, out) {
      const isObj = typeof v === "object" && v !== null;
      const keys = isObj ? Object.keys(v) : [];
      if (prefix.length > 0 && (!isObj || keys.length === 0)) out.push(prefix);
      for (const k of keys) {
        if (Array.isArray(v) && v[k] === null) continue;
        leaves(v[k], [...prefix, Array.isArray(v) ? Number(k) : k], out);
      }
      return out;
    }
    /**
     * Independent oracle: a leaf is allowed when some pattern matches a prefix of it. A
     * number matches an array index only, a name an object key only ("0" as a key of an
     * object is matched by `[0]` too: Node-RED reads obj[0] as obj["0"]).
     */
    const stepMatches = (s, k) =>
      s === "*" || (typeof s === "number" ? String(s) === String(k) : typeof k === "string" && s === k);
    const allowed = (leaf, patterns) =>
      patterns.some((p) => p.length <= leaf.length && p.every((s, i) => stepMatches(s, leaf[i])));

    it("keep output never contains a path outside the allowlist, and never pollutes", () => {
      fc.assert(
        fc.property(
          fc.dictionary(fc.constantFrom(...KEYS), json.value, { maxKeys: 5 }),
          fc.uniqueArray(pattern, {
            minLength: 1,
            maxLength: 4,
            selector: (p) => toText(p).replace(/\[(\d+)\]/g, '["$1"]'),
          }),
          (payload, patterns) => {
            const input = { payload, req: { x: 1 } };
            const before = JSON.stringify(input);
            const { msg } = run(keep(patterns.map((p) => ({ path: toText(p) }))), input);
            assert.equal(JSON.stringify(input), before, "input unchanged");
            for (const leaf of leaves(msg.payload, [], [])) {
              assert.ok(
                allowed(leaf, patterns),
                `leaf ${JSON.stringify(leaf)} not allowed by ${JSON.stringify(patterns)}`,
              );
            }
            assert.equal(msg.req, undefined);
            assert.equal({}.polluted, undefined);
            assert.equal(Object.prototype.hasOwnProperty.call(Object.prototype, "a"), false);
          },
        ),
        { numRuns: 400 },
      );
    });

    /** A copy of v with every primitive replaced by a distinct number that rounding changes (own keys kept as data). */
    function numbered(v, counter = { n: 0 }) {
      if (Array.isArray(v)) return v.map((x) => numbered(x, counter));
      if (typeof v === "object" && v !== null) {
        const out = {};
        for (const k of Object.keys(v))
          Object.defineProperty(out, k, {
            value: numbered(v[k], counter),
            enumerable: true,
            writable: true,
            configurable: true,
          });
        return out;
      }
      return ++counter.n + 0.25;
    }
    /** Primitive leaves with their paths (array indexes as numbers). */
    function primitives(v, prefix, out) {
      if (typeof v !== "object" || v === null) out.push({ path: prefix, value: v });
      else
        for (const k of Object.keys(v))
          primitives(Object.getOwnPropertyDescriptor(v, k).value, [...prefix, Array.isArray(v) ? Number(k) : k], out);
      return out;
    }
    const matchesPrefix = (p, leaf) => p.length <= leaf.length && p.every((s, i) => stepMatches(s, leaf[i]));
    const withoutIndexes = (path) => JSON.stringify(path.map((k) => (typeof k === "number" ? "#" : k)));

    it("keep mode: a value under a kept path that no other rule names leaves unchanged (property)", () => {
      const rule = fc.record({ pattern, op: fc.constantFrom("keep", "keep", "remove", "round") });
      fc.assert(
        fc.property(
          fc.dictionary(fc.constantFrom(...KEYS), json.value, { maxKeys: 5 }),
          fc.uniqueArray(rule, {
            minLength: 1,
            maxLength: 5,
            selector: (r) => toText(r.pattern).replace(/\[(\d+)\]/g, '["$1"]'),
          }),
          (raw, rules) => {
            const payload = numbered(raw);
            const config = keep(
              rules.map((r) => ({ path: toText(r.pattern), op: r.op })),
              { onTypeMismatch: "drop-field" },
            );
            const out = primitives(run(config, { payload }).msg.payload, [], []);
            const where = new Map(out.map((l) => [l.value, l.path]));
            for (const leaf of primitives(payload, [], [])) {
              const named = rules.filter((r) => matchesPrefix(r.pattern, leaf.path));
              // under a kept path, and every rule that reaches it only keeps
              if (named.length === 0 || named.some((r) => r.op !== "keep")) continue;
              const at = where.get(leaf.value);
              assert.ok(
                at !== undefined,
                `${JSON.stringify(leaf.path)} (${leaf.value}) is gone; rules ${JSON.stringify(rules)}`,
              );
              // array elements before it may have gone (nothing kept in them), so only indexes may differ
              assert.equal(
                withoutIndexes(at),
                withoutIndexes(leaf.path),
                `${JSON.stringify(leaf.path)} moved to ${JSON.stringify(at)}`,
              );
            }
            assert.equal({}.polluted, undefined);
          },
        ),
        { numRuns: 500 },
      );
    });

    it("hostile messages: every transform either succeeds or throws MinimizeError, leaving the input as it was", () => {
      const rules = [
        { path: "a", op: "round", step: 0.5 },
        { path: "b.*", op: "coordinates", decimals: 1 },
        { path: "c[*]", op: "time", unit: "hour" },
        { path: "*.a", op: "cap", max: 2 },
        { path: "b.c", op: "bucket", buckets: [{ below: 0, label: "neg" }] },
      ];
      const plans = ["keep", "remove"].flatMap((mode) =>
        ["error", "drop-field"].map((onTypeMismatch) => plan({ mode, rules, onTypeMismatch, nonObject: "pass" })),
      );
      fc.assert(
        fc.property(json.value, (payload) => {
          for (const p of plans) {
            const input = { payload };
            const before = JSON.stringify(input);
            try {
              M.minimize(p, input);
            } catch (e) {
              assert.ok(e instanceof M.MinimizeError, String(e));
            }
            assert.equal(JSON.stringify(input), before);
          }
          assert.equal({}.polluted, undefined);
        }),
        { numRuns: 300 },
      );
    });
  });
});

describe("minimize: a quoted index-like key reaches what the shared walker reaches", () => {
  const { compile, minimize } = require("../../../dist/minimize/minimize");
  const { findMatches, parsePath } = require("../../../dist/core/paths");
  const base = { property: "payload", stripMetadata: false, keepProperties: "", onTypeMismatch: "error", nonObject: "error" };
  it("['0'] is an object key, never an array element; [0] is both (found by the hostile suite: remove ['0'][*] on [[0]])", () => {
    for (const payload of [[[0]], { 0: [0] }]) {
      for (const path of ["['0'][*]", "[0][*]"]) {
        const out = minimize(compile({ ...base, mode: "remove", rules: [{ path, op: "remove" }] }), { payload }).msg.payload;
        const reached = findMatches({ payload }, parsePath(`payload${path}`)).length > 0;
        assert.deepEqual(out, reached ? (Array.isArray(payload) ? [[]] : { 0: [] }) : payload, `${path} on ${JSON.stringify(payload)}`);
      }
    }
  });
});
