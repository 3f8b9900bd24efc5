"use strict";
// timePart, dateShift and bucket. Oracles: Python's datetime and zoneinfo for the time
// parts (ISO weeks, weekdays, hours in a zone) and, for date shifts, the documented
// formula (HKDF + HMAC) computed again in Python with hashlib/hmac and datetime.
const assert = require("node:assert/strict");
const crypto = require("node:crypto");
const { spawnSync } = require("node:child_process");
const fc = require("fast-check");
const { findPython } = require("../../helpers/python");
const ops = require("../../../dist/anonymize/anonymize-ops.js");
const { Anonymizer, anonymizeSchema } = require("../../../dist/anonymize/anonymize.js");
const { validateConfig } = require("../../../dist/core/validation.js");

const python = () => findPython("import zoneinfo, datetime, hmac, hashlib; zoneinfo.ZoneInfo('Europe/Berlin')");
const runPython = (code, input) => {
  const r = spawnSync(python(), ["-c", code], { input: JSON.stringify(input), encoding: "utf8", maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
};

const key = crypto.randomBytes(32);
const shiftKey = Buffer.from(crypto.hkdfSync("sha256", key, Buffer.alloc(0), Buffer.from("privacy-date-shift"), 32));

function engine(raw, deps = { dateShiftKey: shiftKey }) {
  const v = validateConfig(anonymizeSchema, raw);
  if (!v.ok) throw new Error(v.error);
  return new Anonymizer(v.value, undefined, deps);
}

describe("timePart", () => {
  it("hour, ISO weekday, ISO week, month and year equal Python's datetime and zoneinfo (oracle)", function () {
    if (!python()) this.skip();
    const times = fc.sample(fc.integer({ min: Date.UTC(1971, 0, 1), max: Date.UTC(2099, 11, 31) }), { seed: 18, numRuns: 1500 });
    // the turns of the year and DST changes, where ISO weeks and local hours are easy to get wrong
    for (const y of [2020, 2021, 2024, 2026, 2027]) times.push(Date.UTC(y - 1, 11, 28), Date.UTC(y - 1, 11, 31, 23, 30), Date.UTC(y, 0, 1), Date.UTC(y, 0, 4, 5));
    // every 7 minutes for 4 hours around 2024's offset changes (Lord Howe moves by 30 minutes), in order,
    // so the offsets cached per quarter hour are used across each change
    const changes = [Date.UTC(2024, 2, 31, 1), Date.UTC(2024, 9, 27, 1), Date.UTC(2024, 2, 10, 7), Date.UTC(2024, 10, 3, 6), Date.UTC(2024, 3, 6, 15), Date.UTC(2024, 9, 5, 16)];
    for (const c of changes) for (let m = -120; m <= 120; m += 7) times.push(c + m * 60000);
    const zones = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Pacific/Auckland", "Australia/Lord_Howe", "Asia/Kathmandu"];
    const expected = runPython(
      `
import sys, json, datetime, zoneinfo
req = json.load(sys.stdin)
out = {}
for z in req["zones"]:
    tz = datetime.timezone.utc if z == "UTC" else zoneinfo.ZoneInfo(z)
    rows = []
    for t in req["times"]:
        d = datetime.datetime.fromtimestamp(t / 1000, tz)
        iso = d.isocalendar()
        rows.append([d.hour, iso[2], iso[1], d.month, d.year])
    out[z] = rows
print(json.dumps(out))`,
      { times, zones },
    );
    for (const zone of zones) {
      times.forEach((t, i) => {
        const parts = ["hour", "weekday", "week", "month", "year"];
        const got = parts.map((part) => ops.timePart(t, { part, timeZone: zone }));
        assert.deepEqual(got, expected[zone][i], `${new Date(t).toISOString()} in ${zone}`);
        // the same instant as ISO text (read by arithmetic) and as a Date
        const iso = new Date(t).toISOString();
        assert.deepEqual(parts.map((part) => ops.timePart(iso, { part, timeZone: zone })), expected[zone][i], iso);
        assert.deepEqual(parts.map((part) => ops.timePart(new Date(t), { part, timeZone: zone })), expected[zone][i]);
      });
    }
  });

  it("reads ISO strings, epoch milliseconds and Dates, and refuses what is not a date", () => {
    assert.equal(ops.timePart("2024-03-15T10:22:33Z", { part: "hour", timeZone: "UTC" }), 10);
    assert.equal(ops.timePart("2024-03-15T10:22:33Z", { part: "hour", timeZone: "Europe/Berlin" }), 11);
    assert.equal(ops.timePart(new Date("2024-03-17T12:00:00Z"), { part: "weekday", timeZone: "UTC" }), 7);
    assert.equal(ops.timePart("2021-01-03T12:00:00Z", { part: "week", timeZone: "UTC" }), 53);
    assert.throws(() => ops.timePart("soon", { part: "hour", timeZone: "UTC" }), /timePart expects a valid date/);
    assert.throws(() => ops.timePart({}, { part: "hour", timeZone: "UTC" }), /got object/);
  });

  it("an unknown time zone or part is refused when the node is created", () => {
    assert.match(validateConfig(anonymizeSchema, { rules: [{ path: "t", op: "timePart", part: "hour", timeZone: "Mars/Olympus" }] }).error, /time zone/);
    assert.match(validateConfig(anonymizeSchema, { rules: [{ path: "t", op: "timePart", part: "minute" }] }).error, /part/);
  });
});

describe("dateShift", () => {
  it("equals the documented formula computed in Python (HKDF, HMAC, datetime), string formats kept", function () {
    if (!python()) this.skip();
    const subjects = fc.sample(fc.oneof(fc.string({ minLength: 1, maxLength: 12 }), fc.integer({ min: 0, max: 1e6 })), { seed: 5, numRuns: 300 });
    const options = [
      { minDays: -180, maxDays: 180, keepWeekday: false },
      { minDays: 1, maxDays: 30, keepWeekday: false },
      { minDays: -60, maxDays: 60, keepWeekday: true },
    ];
    const dates = ["2024-02-29", "2024-03-15T10:22:33Z", "2023-12-31T23:59:59.123+05:30", "2000-01-01 08:00"];
    const expected = runPython(
      `
import sys, json, hmac, hashlib, datetime, base64
req = json.load(sys.stdin)
key = base64.b64decode(req["key"])
# HKDF-SHA256 (RFC 5869), salt empty, one block
prk = hmac.new(b"\\x00" * 32, key, hashlib.sha256).digest()
sub = hmac.new(prk, b"privacy-date-shift" + b"\\x01", hashlib.sha256).digest()
out = []
for s in req["subjects"]:
    h = int.from_bytes(hmac.new(sub, str(s).encode(), hashlib.sha256).digest()[:8], "big")
    row = []
    for o in req["options"]:
        unit = 7 if o["keepWeekday"] else 1
        lo, hi = -(-o["minDays"] // unit), o["maxDays"] // unit
        allowed = [k * unit for k in range(lo, hi + 1) if k != 0]
        shift = allowed[h % len(allowed)]
        shifted = []
        for d in req["dates"]:
            day = datetime.date.fromisoformat(d[:10]) + datetime.timedelta(days=shift)
            shifted.append(day.isoformat() + d[10:])
        row.append([shift, shifted])
    out.append(row)
print(json.dumps(out))`,
      { key: key.toString("base64"), subjects, options, dates },
    );
    const shifter = new ops.DateShifter(shiftKey);
    subjects.forEach((s, i) => {
      options.forEach((o, j) => {
        const [shift, shifted] = expected[i][j];
        assert.equal(shifter.shiftDays(String(s), o), shift, `subject ${JSON.stringify(s)} options ${j}`);
        assert.deepEqual(dates.map((d) => ops.shiftDate(d, shift)), shifted);
      });
    });
  });

  it("is stable per subject, keeps one person's intervals, differs between subjects, and spreads over the range", () => {
    const e = engine({ rules: [{ path: "at", op: "dateShift", minDays: -30, maxDays: 30 }], subject: { from: "record", path: "who" } });
    const out = e.run([
      { who: "alice", at: "2024-03-01" },
      { who: "alice", at: "2024-03-11" },
      { who: "bob", at: "2024-03-01" },
      { who: "alice", at: Date.UTC(2024, 2, 21) },
    ]).value;
    const day = (v) => (typeof v === "number" ? v : Date.parse(v)) / 86400000;
    assert.equal(day(out[1].at) - day(out[0].at), 10, "the interval for one person stays true");
    assert.equal(day(out[3].at) - day(out[0].at), 20);
    assert.notEqual(out[0].at, "2024-03-01", "the date is hidden");
    assert.equal(engine({ rules: [{ path: "at", op: "dateShift", minDays: -30, maxDays: 30 }] }).run({ at: "2024-03-01" }, { subject: "alice" }).value.at, out[0].at, "stable across engines with the same key");
    // 3000 subjects over 60 possible shifts: each shift about 50 times (chi-squared, 59 df, 0.01: 87.2).
    // A fixed key, so the statistical check is one fixed sample, not a 1 % chance of failing each run.
    const shifter = new ops.DateShifter(Buffer.alloc(32, 7));
    const counts = new Map();
    for (let i = 0; i < 3000; i++) {
      const s = shifter.shiftDays(`subject-${i}`, { minDays: -30, maxDays: 30, keepWeekday: false });
      assert.ok(s !== 0 && s >= -30 && s <= 30);
      counts.set(s, (counts.get(s) || 0) + 1);
    }
    assert.equal(counts.size, 60);
    const chi = [...counts.values()].reduce((a, c) => a + (c - 50) ** 2 / 50, 0);
    assert.ok(chi < 87.2, `chi2 ${chi}`);
    const other = new ops.DateShifter(crypto.randomBytes(32));
    const differ = Array.from({ length: 50 }, (_, i) => shifter.shiftDays(`s${i}`, { minDays: -30, maxDays: 30, keepWeekday: false }) !== other.shiftDays(`s${i}`, { minDays: -30, maxDays: 30, keepWeekday: false }));
    assert.ok(differ.filter(Boolean).length > 40, "another key gives other shifts");
  });

  it("keepWeekday shifts by whole weeks; Dates stay Dates; a missing subject or a bad date is an error", () => {
    const e = engine({ rules: [{ path: "at", op: "dateShift", minDays: -28, maxDays: 28, keepWeekday: true }] });
    const d = e.run({ at: new Date("2024-03-15T10:00:00Z") }, { subject: "x" }).value.at;
    assert.ok(d instanceof Date && d.getUTCDay() === 5 && d.getUTCHours() === 10);
    assert.throws(() => e.run({ at: "2024-03-15" }), /dateShift needs a subject: msg.topic is missing/);
    assert.throws(() => e.run({ at: "2024-02-30" }, { subject: "x" }), /valid calendar date/);
    assert.throws(() => e.run({ at: "15/03/2024" }, { subject: "x" }), /ISO 8601/);
    assert.match(validateConfig(anonymizeSchema, { rules: [{ path: "a", op: "dateShift", minDays: -3, maxDays: 3, keepWeekday: true }] }).error, /no shift/);
    assert.match(validateConfig(anonymizeSchema, { rules: [{ path: "a", op: "dateShift", minDays: 5, maxDays: 1 }] }).error, /minDays/);
    assert.throws(() => engine({ rules: [{ path: "a", op: "dateShift" }] }, {}), /dateShift needs a keyring/);
  });
});

describe("bucket", () => {
  it("fixed-size buckets as a range, lower bound or middle; explicit ranges as minimize's", () => {
    const fixed = (v, o) => ops.bucket(v, { mode: "fixed", width: 10, origin: 0, output: "range", buckets: [], ...o });
    assert.equal(fixed(23.4), "20-29");
    assert.equal(fixed(-0.5), "-10--1");
    assert.equal(fixed(23.4, { output: "lower" }), 20);
    assert.equal(fixed(23.4, { output: "middle" }), 25);
    assert.equal(fixed(0.74, { width: 0.25, output: "range" }), "0.5-0.75");
    assert.equal(fixed(7, { width: 5, origin: 2 }), "7-11");
    const ranges = { mode: "ranges", width: 10, origin: 0, output: "range", buckets: [{ below: 18, label: "minor" }, { below: 65, label: "adult" }] };
    assert.equal(ops.bucket(17.9, ranges), "minor");
    assert.equal(ops.bucket(18, ranges), "adult");
    assert.equal(ops.bucket(70, ranges), ">= 65");
    assert.equal(ops.bucket(70, { ...ranges, above: "senior" }), "senior");
    assert.throws(() => ops.bucket("7", ranges), /bucket expects a finite number, got string/);
    assert.match(validateConfig(anonymizeSchema, { rules: [{ path: "a", op: "bucket", mode: "ranges", buckets: [{ below: 5, label: "a" }, { below: 5, label: "b" }] }] }).error, /ascending/);
  });

  it("every value falls into exactly the bucket [lo, lo + width) it names (property)", () => {
    fc.assert(
      fc.property(fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.integer({ min: 1, max: 1000 }), fc.integer({ min: -50, max: 50 }), (v, width, origin) => {
        const lo = ops.bucket(v, { mode: "fixed", width, origin, output: "lower", buckets: [] });
        assert.ok(lo <= v + 1e-6 && v < lo + width + 1e-6 && Number.isInteger((lo - origin) / width));
      }),
    );
  });
});
