// Loaded with `node --import` by NodeMcpServers on Node.js older than 22 only.
// @modelcontextprotocol/conformance 0.1.16 imports fs.globSync (Node.js 22+) at load time, for its
// tier-check command alone; its server scenarios use nothing newer than Node.js 20. These hooks give
// the conformance package an fs module with a globSync that says so, instead of failing to load.
import { register } from 'node:module';

register('./hooks.mjs', import.meta.url);
