import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ApiContext } from '../context.js';
import { ADMIN, AUTH_ERRORS, HttpError, errorResponses, iso } from '../common.js';
import type { ClusterNodeInfo } from '../../cluster/leader.js';

/** What the route needs of the cluster: the node list from PostgreSQL, or this node alone. */
export interface ClusterView {
  nodes(): Promise<{ nodes: ClusterNodeInfo[]; leader: string | null }>;
}

/** CONTRACT v2 "Cluster": GET /api/v1/cluster (admin) */
const ClusterSchema = z.object({
  nodes: z.array(z.object({ id: z.string(), startedAt: z.string().nullable(), lastHeartbeatAt: z.string().nullable(), leader: z.boolean(), mqttClients: z.number().int() })),
  leader: z.string().nullable().describe('the node that runs the singleton work (offline sweep, retention, notification delivery)'),
});

export const clusterRoutes = (_ctx: ApiContext, view: ClusterView): FastifyPluginAsync => async (app) => {
  app.withTypeProvider<ZodTypeProvider>().get('/cluster', {
    config: { roles: ADMIN },
    schema: {
      tags: ['operations'], summary: 'The nodes of the cluster (heartbeat in the last 5 minutes), which one leads the singleton work, and each node\'s connected MQTT clients',
      response: { 200: ClusterSchema, ...errorResponses(...AUTH_ERRORS, 503) },
    },
  }, async () => {
    let v: Awaited<ReturnType<ClusterView['nodes']>>;
    try {
      v = await view.nodes();
    } catch (err) {
      throw new HttpError(503, `cluster state unavailable: ${(err as Error).message}`);
    }
    return {
      nodes: v.nodes.map((n) => ({ id: n.id, startedAt: iso(n.startedAt), lastHeartbeatAt: iso(n.lastHeartbeatAt), leader: n.leader, mqttClients: n.mqttClients })),
      leader: v.leader,
    };
  });
};
