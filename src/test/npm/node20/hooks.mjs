// Resolves `fs` to fs.mjs for the conformance package only; every other import is left alone.
export async function resolve(specifier, context, nextResolve) {
  if (
    (specifier === 'fs' || specifier === 'node:fs') &&
    context.parentURL &&
    context.parentURL.includes('/node_modules/@modelcontextprotocol/conformance/')
  ) {
    return { url: new URL('./fs.mjs', import.meta.url).href, shortCircuit: true };
  }
  return nextResolve(specifier, context);
}
