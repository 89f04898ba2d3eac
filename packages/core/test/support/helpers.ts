import { expect } from "vitest";
import {
  createMsixTable,
  isImsimError,
  parseBdf,
  requesterIdOf,
  type Device,
  type Entry16Store,
  type ImsimError,
  type ImsimErrorCode,
  type IrqSystem,
  type MessageStore,
  type MsiDomain,
  type MsiDomainOptions,
} from "../../src/index.js";

/** Runs `fn`, expects an ImsimError with `code`, returns it. */
export function expectCode(fn: () => unknown, code: ImsimErrorCode): ImsimError {
  let caught: unknown = undefined;
  let threw = false;
  try {
    fn();
  } catch (e) {
    threw = true;
    caught = e;
  }
  expect(threw, `expected ${code} to be thrown, nothing was`).toBe(true);
  expect(isImsimError(caught, code), `expected ImsimError ${code}, got ${String(caught)}`).toBe(true);
  return caught as ImsimError;
}

export interface PciFixture {
  dev: Device;
  store: Entry16Store;
  domain: MsiDomain;
}

/** A PCI function with an MSI-X table of `size` entries and its default (MSI-X) domain. */
export function addMsixDevice(
  system: IrqSystem,
  bdf: string,
  size: number,
  extra: { dmaAliases?: readonly number[]; storeRequesterId?: number; domain?: Partial<MsiDomainOptions> } = {},
): PciFixture {
  const dev = system.addPciDevice(extra.dmaAliases ? { bdf, dmaAliases: extra.dmaAliases } : { bdf });
  const store = createMsixTable(size, extra.storeRequesterId ?? requesterIdOf(parseBdf(bdf)));
  const domain = system.createMsiDomain(dev, { domainId: 0, store, kind: "msix", ...extra.domain });
  return { dev, store, domain };
}

/** Every observable field of every entry of a store: compare two to prove nothing was left behind. */
export function dumpStore(store: MessageStore): string[] {
  const out: string[] = [];
  for (let i = 0; i < store.size; i++) {
    out.push(
      [store.addressLo(i), store.addressHi(i), store.data(i), store.isMasked(i), store.isPending(i), store.pasid(i)].join("/"),
    );
  }
  return out;
}

/** A handler that counts its calls and records every virq it was called with. */
export function counter(): { handler: (virq: number) => void; calls: number[] } {
  const calls: number[] = [];
  return { handler: (virq: number) => void calls.push(virq), calls };
}
