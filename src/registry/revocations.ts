/**
 * "Sessions follow credentials" (CONTRACT v2): when a principal's credential stops being
 * valid (a device's secret rotated, a device deleted, an API key or integration deleted),
 * one notification goes to everything holding a live session for it: the MQTT broker
 * closes its connections, the SSE route ends its streams. The registries emit; in cluster
 * mode the same seam is fed from the other nodes (PostgreSQL LISTEN/NOTIFY).
 * Listeners run synchronously, so a session is gone before the REST call that revoked it
 * answers.
 */

export type RevokedPrincipal =
  | { type: 'device'; id: string }
  | { type: 'consumer'; name: string }
  | { type: 'integration'; id: string };

export type RevocationReason = 'secret_rotated' | 'device_deleted' | 'api_key_deleted' | 'integration_deleted';

export interface Revocation {
  principal: RevokedPrincipal;
  reason: RevocationReason;
}

export type RevocationListener = (r: Revocation) => void;

export class Revocations {
  private readonly listeners = new Set<RevocationListener>();

  constructor(private readonly onListenerError: (err: unknown) => void = () => {}) {}

  /** returns the function that unsubscribes */
  subscribe(listener: RevocationListener): () => void {
    this.listeners.add(listener);
    return () => { this.listeners.delete(listener); };
  }

  revoke(principal: RevokedPrincipal, reason: RevocationReason): void {
    for (const l of [...this.listeners]) {
      try { l({ principal, reason }); } catch (err) { this.onListenerError(err); }
    }
  }
}

/** the same principal, whatever else the two descriptions carry (a role, a format) */
export function samePrincipal(a: { type: string; id?: string; name?: string }, b: RevokedPrincipal): boolean {
  if (a.type !== b.type) return false;
  return b.type === 'consumer' ? a.name === b.name : a.id === b.id;
}
