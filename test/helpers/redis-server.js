"use strict";
/**
 * A real redis-server for tests: on 127.0.0.1, a free port and a temp directory, with the
 * AOF on and `appendfsync always` (the setting the README gives for no loss on a crash).
 * It can be stopped, killed with -9 and started again on the same port and data.
 * redis-server is installed with apt-get when missing (as the pretest step does).
 */
const { spawn, spawnSync, execFileSync } = require("node:child_process");
const fs = require("node:fs");
const net = require("node:net");
const os = require("node:os");
const path = require("node:path");
const tls = require("node:tls");

const REDIS_SERVER = process.env.REDIS_SERVER || "/usr/bin/redis-server";

function ensureRedisServer() {
  if (fs.existsSync(REDIS_SERVER)) return;
  if (typeof process.getuid === "function" && process.getuid() !== 0) {
    throw new Error(`${REDIS_SERVER} is missing: sudo apt-get install -y redis-server`);
  }
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  if (spawnSync("apt-get", ["install", "-y", "-qq", "redis-server"], { stdio: "inherit", env }).status !== 0) {
    execFileSync("apt-get", ["update", "-qq"], { stdio: "inherit", env });
    execFileSync("apt-get", ["install", "-y", "-qq", "redis-server"], { stdio: "inherit", env });
  }
  if (!fs.existsSync(REDIS_SERVER)) throw new Error(`apt-get finished but ${REDIS_SERVER} is still missing`);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Resolves when the port accepts a PING, or rejects after `ms`. */
function waitReady(port, ms, output, useTls) {
  const deadline = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      // The test's own CA is not trusted here: this only asks whether the server answers.
      const sock = useTls
        ? tls.connect({ port, host: "127.0.0.1", rejectUnauthorized: false })
        : net.connect(port, "127.0.0.1");
      let data = "";
      sock.on(useTls ? "secureConnect" : "connect", () => sock.write("PING\r\n"));
      sock.on("data", (d) => {
        data += d;
        // NOAUTH: up, with a password or ACL users (the test then authenticates itself).
        if (data.includes("PONG") || data.includes("NOAUTH")) {
          sock.destroy();
          resolve();
        } else if (data.includes("LOADING")) {
          sock.destroy();
          setTimeout(attempt, 50);
        }
      });
      sock.on("error", () => {
        sock.destroy();
        if (Date.now() > deadline) reject(new Error(`redis-server did not start:\n${output()}`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

/**
 * Starts a server. Options: appendfsync ("always" default), appendonly (false: no
 * persistence at all, a restart loses everything), port, dir, args (more redis-server
 * arguments, e.g. an ACL user), tls ({ cert, key, ca } files: TLS only, url rediss://).
 * Resolves with { url, port, dir, stop(), kill(), start() }: start() runs it again on
 * the same port and directory (after stop or kill).
 */
async function startRedis(options = {}) {
  ensureRedisServer();
  const port = options.port || (await freePort());
  const dir = options.dir || fs.mkdtempSync(path.join(os.tmpdir(), "nr-privacy-redis-"));
  const scheme = options.tls ? "rediss" : "redis";
  const server = { url: `${scheme}://127.0.0.1:${port}`, port, dir, proc: undefined, out: "" };
  const listen = options.tls
    ? ["--port", "0", "--tls-port", String(port), "--tls-cert-file", options.tls.cert, "--tls-key-file", options.tls.key,
      "--tls-ca-cert-file", options.tls.ca, "--tls-auth-clients", "no"]
    : ["--port", String(port)];
  server.start = async () => {
    server.out = "";
    const proc = spawn(
      REDIS_SERVER,
      [
        ...listen, "--bind", "127.0.0.1", "--dir", dir, "--save", "",
        "--appendonly", options.appendonly === false ? "no" : "yes", "--appendfsync", options.appendfsync || "always",
        "--daemonize", "no", "--protected-mode", "yes", "--loglevel", "warning",
        ...(options.args || []),
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    proc.stdout.on("data", (d) => (server.out += d));
    proc.stderr.on("data", (d) => (server.out += d));
    server.proc = proc;
    await waitReady(port, 10000, () => server.out, Boolean(options.tls));
  };
  const ended = () =>
    new Promise((resolve) => {
      const p = server.proc;
      if (!p || p.exitCode !== null || p.signalCode !== null) return resolve();
      p.once("exit", () => resolve());
    });
  server.stop = async () => {
    if (server.proc && server.proc.exitCode === null && server.proc.signalCode === null) server.proc.kill("SIGTERM");
    await ended();
  };
  server.kill = async () => {
    if (server.proc && server.proc.exitCode === null && server.proc.signalCode === null) server.proc.kill("SIGKILL");
    await ended();
  };
  server.cleanup = async () => {
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  await server.start();
  return server;
}

module.exports = { startRedis, ensureRedisServer, freePort };
