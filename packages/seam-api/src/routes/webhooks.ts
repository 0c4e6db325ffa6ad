/**
 * `/webhooks/create|get|list|update|delete`: Seam's `webhook` resource. Webhooks are kept in the
 * workspace's store with their signing secret; each Seam event is delivered to them signed the Svix
 * way (Webhooks.ts, internal/eventLog.ts).
 *
 * Deviations (README): a URL must name a public host unless the workspace allows private ones
 * (internal/urlPolicy.ts); at most `maxPerWorkspace` webhooks (400 `webhook_limit_reached`).
 *
 * @internal
 */
import { Effect, Redacted, Schema } from "effect"
import { newId } from "../internal/ids.js"
import * as UrlPolicy from "../internal/urlPolicy.js"
import { Id, opt, orNotFound, port, type Route, route } from "../internal/route.js"
import { invalidField, notFound, SeamError as SeamErrorClass } from "../SeamError.js"
import * as Webhooks from "../Webhooks.js"

const webhookResource = (w: Webhooks.Webhook) => ({
  webhook_id: w.webhook_id,
  url: w.url,
  ...(w.event_types === undefined ? {} : { event_types: w.event_types }),
  secret: Redacted.value(w.secret)
})

const Url = Schema.String.check(
  Schema.makeFilter((s: string) => {
    try {
      const u = new URL(s)
      return u.protocol === "http:" || u.protocol === "https:" || "Expected an http(s) URL"
    } catch {
      return "Expected an http(s) URL"
    }
  })
)

/** The `/webhooks/*` routes, by path. */
export const routes: Record<string, Route> = {
  "/webhooks/create": route(
    "write",
    Schema.Struct({ url: Url, event_types: opt(Schema.Array(Schema.NonEmptyString)) }),
    ({ ws }, input) =>
      ws.exclusive(Effect.gen(function* () {
        const refused = yield* Effect.promise(() => UrlPolicy.check(input.url, ws.webhookPolicy.allowPrivateUrls))
        if (refused !== undefined) return yield* Effect.fail(invalidField("url", refused))
        const count = (yield* port(ws.webhooks.list)).length
        if (count >= ws.webhookPolicy.maxPerWorkspace) {
          return yield* Effect.fail(
            new SeamErrorClass({
              status: 400,
              type: "webhook_limit_reached",
              message: `This workspace has ${count} webhooks, the most it may have: delete one first`
            })
          )
        }
        const w: Webhooks.Webhook = {
          webhook_id: newId(),
          url: input.url,
          event_types: input.event_types,
          secret: Webhooks.newSecret(),
          created_at: new Date().toISOString()
        }
        yield* port(ws.webhooks.create(w))
        return { webhook: webhookResource(w) }
      }))
  ),
  "/webhooks/get": route("read", Schema.Struct({ webhook_id: Id }), ({ ws }, input) =>
    Effect.map(Effect.flatMap(port(ws.webhooks.get(input.webhook_id)), orNotFound("webhook")), (w) => ({ webhook: webhookResource(w) }))
  ),
  "/webhooks/list": route("read", Schema.Struct({}), ({ ws }) =>
    Effect.map(port(ws.webhooks.list), (all) => ({ webhooks: all.map(webhookResource) }))
  ),
  "/webhooks/update": route(
    "write",
    Schema.Struct({ webhook_id: Id, event_types: Schema.Array(Schema.NonEmptyString) }),
    ({ ws }, input) =>
      Effect.flatMap(port(ws.webhooks.update(input.webhook_id, input.event_types)), (updated) =>
        updated ? Effect.succeed({}) : Effect.fail(notFound("webhook"))
      )
  ),
  "/webhooks/delete": route("delete", Schema.Struct({ webhook_id: Id }), ({ ws }, input) =>
    Effect.flatMap(port(ws.webhooks.remove(input.webhook_id)), (removed) => (removed ? Effect.succeed({}) : Effect.fail(notFound("webhook"))))
  )
}
