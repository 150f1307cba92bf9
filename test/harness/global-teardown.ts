export default async function globalTeardown(): Promise<void> {
  await Promise.all((globalThis.__tributaryServices ?? []).map((s) => s.stop()));
}
