// What a server process costs, read from /proc: CPU time (user + system) and memory (RSS and
// its peak) of a process and all its descendants, and the machine's description.
import { readFileSync, readdirSync } from "node:fs";
import { execFileSync } from "node:child_process";
import os from "node:os";

const CLK_TCK = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;

function stat(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may contain spaces: fields after it start past its ')'.
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    return { ppid: Number(fields[1]), cpuTicks: Number(fields[11]) + Number(fields[12]) };
  } catch {
    return null; // gone
  }
}

/** `pid` and every process below it. */
export function processTree(pid) {
  const children = new Map();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const s = stat(entry);
    if (s) children.set(s.ppid, [...(children.get(s.ppid) ?? []), Number(entry)]);
  }
  const tree = [];
  for (const queue = [pid]; queue.length; ) {
    const next = queue.shift();
    tree.push(next);
    queue.push(...(children.get(next) ?? []));
  }
  return tree;
}

/** Children of this process whose command is `comm` (e.g. the workerd Miniflare started). */
export function childrenNamed(comm, parent = process.pid) {
  return processTree(parent).filter((pid) => {
    if (pid === parent) return false;
    try {
      return readFileSync(`/proc/${pid}/comm`, "utf8").trim() === comm;
    } catch {
      return false;
    }
  });
}

/** CPU seconds (user + system) used so far by these processes. */
export function cpuSeconds(pids) {
  return pids.reduce((sum, pid) => sum + (stat(pid)?.cpuTicks ?? 0), 0) / CLK_TCK;
}

/** Resident memory now and at its peak, in MiB, summed over these processes. */
export function memoryMiB(pids) {
  let rss = 0;
  let peak = 0;
  for (const pid of pids) {
    try {
      const status = readFileSync(`/proc/${pid}/status`, "utf8");
      rss += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
      peak += Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
    } catch {
      // gone
    }
  }
  return { rss: rss / 1024, peak: peak / 1024 };
}

/** The whole machine's CPU ticks so far (all cores, from /proc/stat): busy, stolen, and in all. */
function machineTicks() {
  const [, ...ticks] = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).map(Number);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = ticks;
  return { busy: user + nice + system + irq + softirq + steal, steal, all: user + nice + system + idle + iowait + irq + softirq + steal };
}

/** CPU seconds the whole machine has been busy (all cores, from /proc/stat). */
export function machineBusySeconds() {
  return machineTicks().busy / CLK_TCK;
}

/**
 * Starts watching the whole machine's CPU; the function returned says what share of all cores
 * was busy since, and what share the hypervisor gave to other machines (steal), in per cent.
 * This tells a run slowed by its own work (busy near 100, steal near 0) from one slowed by a
 * neighbour on the same host (steal high). The load average cannot: on Linux it counts every
 * runnable thread, and six browsers alone keep 20 to 40 of them runnable.
 */
export function watchMachineCpu() {
  const start = machineTicks();
  return () => {
    const now = machineTicks();
    const all = now.all - start.all || 1;
    return { busy: Math.round((100 * (now.busy - start.busy)) / all), steal: Math.round((100 * (now.steal - start.steal)) / all) };
  };
}

export function machine() {
  const cpu = /model name\s*:\s*(.*)/.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? os.cpus()[0]?.model;
  return {
    cores: os.availableParallelism(),
    cpu: cpu.trim(),
    memoryGiB: os.totalmem() / 2 ** 30,
    kernel: os.release(),
    node: process.version,
  };
}
