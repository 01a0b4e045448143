import { KeyFault, type KekProvider, type KekRef, type KekVersionInfo } from './kek-provider.js';

/**
 * A provider that is still being opened (an HSM module loading and logging in) when the broker is
 * constructed: every call waits for it; if opening failed, every call fails with why, as `unavailable`.
 */
export class PendingKekProvider implements KekProvider {
  readonly kind: string;
  readonly ready: Promise<void>;
  readonly #opened: Promise<KekProvider>;

  constructor(kind: string, opening: Promise<KekProvider>) {
    this.kind = kind;
    this.#opened = opening;
    this.ready = opening.then(() => undefined);
    // Reported by whoever awaits `ready` (the broker's start); not an unhandled rejection meanwhile.
    this.ready.catch(() => undefined);
  }

  async #provider(): Promise<KekProvider> {
    try {
      return await this.#opened;
    } catch (err) {
      throw err instanceof KeyFault ? err : new KeyFault('unavailable', `the ${this.kind} key provider could not be opened: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  async current(name: string): Promise<KekRef> {
    return (await this.#provider()).current(name);
  }
  async rotate(name: string): Promise<KekRef> {
    return (await this.#provider()).rotate(name);
  }
  async wrap(kek: KekRef, key: Buffer, context: Buffer): Promise<Buffer> {
    return (await this.#provider()).wrap(kek, key, context);
  }
  async unwrap(kek: KekRef, wrapped: Buffer, context: Buffer): Promise<Buffer> {
    return (await this.#provider()).unwrap(kek, wrapped, context);
  }
  async destroy(name: string): Promise<void> {
    return (await this.#provider()).destroy(name);
  }
  async describe(name: string): Promise<readonly KekVersionInfo[] | 'destroyed'> {
    return (await this.#provider()).describe(name);
  }
  async names(): Promise<readonly string[]> {
    return (await this.#provider()).names();
  }
  async close(): Promise<void> {
    const provider = await this.#opened.catch(() => null);
    await provider?.close();
  }
}
