/**
 * The Node.js flags the agent is shipped with (package.json `scripts.agent`, docker-compose.yml;
 * a test keeps them in step). V8's lite mode trades peak JavaScript speed for memory: no optimising
 * compiler (its compilation zones are what a small process keeps in malloc arenas afterwards) and a
 * young generation that does not grow to 3 × 16 MiB. The agent is I/O-bound: with 16 packs at 1 Hz
 * it uses about 4 % of a core either way, and its resident memory falls from about 110 to about
 * 60 MiB compiled (docs/edge-agent.md, "Memory").
 */
export const AGENT_NODE_FLAGS = ["--lite-mode"] as const;
