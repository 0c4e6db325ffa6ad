/**
 * The flow of Seam's guide "Issuing mobile credentials from an access control system" (docs/design.md), written
 * with Seam's official TypeScript client against a self-hosted, Seam-compatible credsync started
 * in-process on 127.0.0.1. Only the endpoint and the key differ from code written for Seam itself.
 *
 *   pnpm example:seam
 */
import { pathToFileURL } from "node:url"
import { Cli } from "@credsync/cli"
import { Server } from "@credsync/seam-api"
import { SeamHttp } from "@seamapi/http/connect"
import { Effect, Redacted } from "effect"
import { Command, Flag } from "effect/cli"

const apiKey = "seam_example_sandbox_key"

/** Poll until `check` yields a value; bounded, so a broken server ends the example instead of hanging it. */
const waitFor = async <A>(what: string, check: () => Promise<A | undefined>): Promise<A> => {
  for (let i = 0; i < 200; i++) {
    const v = await check()
    if (v !== undefined) return v
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`gave up waiting for ${what}`)
}

/** What the run observed, for the example's test. */
export interface Outcome {
  readonly childrenIssued: number
  readonly childrenAfterDeactivation: number
  readonly credentialsAfterDelete: number
  readonly eventTypes: ReadonlyArray<string>
}

/** Run the flow, printing each step through `print`. */
export const main = async (print: (line: string) => void = console.log): Promise<Outcome> => {
  const server = await Server.start({
    workspaces: [{ id: "3c6a8b1e-0f2d-4e5a-9b7c-1d2e3f4a5b6c", name: "example sandbox", apiKeys: [Redacted.make(apiKey)] }]
  })
  try {
    print(`credsync's Seam-compatible API is listening on ${server.url}`)
    const seam = SeamHttp.fromApiKey(apiKey, { endpoint: server.url, isUndocumentedApiEnabled: true })

    // Which ACS and which credential manager does this workspace have?
    const systems = await seam.acs.systems.list()
    const credentialManager = systems.find((s) => s.is_credential_manager)
    const acsSystem = systems.find((s) => !s.is_credential_manager)
    if (credentialManager === undefined || acsSystem === undefined) throw new Error("the workspace has no ACS or credential manager")
    print(`ACS: ${acsSystem.name}; credential manager: ${credentialManager.name}`)

    // A mobile-app user and their account in the ACS.
    const userIdentity = await seam.userIdentities.create({ email_address: "jane@example.com", full_name: "Jane Doe" })
    const acsUser = await seam.acs.users.create({ acs_system_id: acsSystem.acs_system_id, full_name: "Jane Doe", email_address: "jane@example.com" })
    await seam.userIdentities.addAcsUser({ user_identity_id: userIdentity.user_identity_id, acs_user_id: acsUser.acs_user_id })
    print(`user identity ${userIdentity.user_identity_id} linked to ACS user ${acsUser.acs_user_id}`)

    // seam.enrollment_automations.launch(user_identity_id=..., credential_manager_acs_system_id=...)
    const automation = await seam.userIdentities.enrollmentAutomations.launch({
      user_identity_id: userIdentity.user_identity_id,
      credential_manager_acs_system_id: credentialManager.acs_system_id
    })
    print(`enrollment automation ${automation.enrollment_automation_id} launched`)

    // seam.acs.credentials.create(is_multi_phone_sync_credential=True, acs_user_id=..., card_format="rfid48", facility_code="9")
    const params = {
      access_method: "mobile_key" as const,
      is_multi_phone_sync_credential: true,
      acs_user_id: acsUser.acs_user_id,
      credential_manager_acs_system_id: credentialManager.acs_system_id,
      card_format: "rfid48",
      facility_code: "9"
    }
    const credential = await seam.acs.credentials.create(params)
    print(`multi-phone sync credential ${credential.acs_credential_id}: warnings [${credential.warnings.map((w) => w.warning_code).join(", ")}]`)

    // The user logs in on three phones (sandbox phones: the server plays the phone SDK).
    const phones = []
    for (const model of ["Pixel 8", "iPhone 15", "Galaxy S10"]) {
      const phone = await seam.phones.simulate.createSandboxPhone({
        user_identity_id: userIdentity.user_identity_id,
        phone_metadata: { operating_system: model.startsWith("iPhone") ? "ios" : "android", device_model: model }
      })
      phones.push(phone)
      print(`phone ${phone.display_name} (${phone.device_id}) came online`)
    }

    const children = async () =>
      (await seam.acs.credentials.list({ user_identity_id: userIdentity.user_identity_id })).filter(
        (c) => c.parent_acs_credential_id === credential.acs_credential_id
      )
    const issued = await waitFor("one credential per phone", async () => {
      const c = await children()
      return c.length === phones.length && c.every((x) => x.is_issued) ? c : undefined
    })
    for (const c of issued) print(`  child ${c.acs_credential_id}: card ${c.card_number}, issued ${c.issued_at}`)

    // A phone is lost: deactivate it; its credential is revoked and removed from the ACS.
    const lost = phones[0]
    if (lost === undefined) throw new Error("no phone")
    await seam.phones.deactivate({ device_id: lost.device_id })
    const remaining = await waitFor("the lost phone's credential to be revoked", async () => {
      const c = await children()
      return c.length === phones.length - 1 ? c : undefined
    })
    print(`deactivated ${lost.display_name}: ${remaining.length} phone credentials remain`)

    // Deleting the multi-phone sync credential removes every phone credential.
    await seam.acs.credentials.delete({ acs_credential_id: credential.acs_credential_id })
    const left = await waitFor("every credential to be gone", async () => {
      const c = await seam.acs.credentials.list({ user_identity_id: userIdentity.user_identity_id })
      return c.length === 0 ? c : undefined
    })
    print(`deleted the multi-phone sync credential: ${left.length} credentials left`)

    const events = await seam.events.list({ since: new Date(Date.now() - 60_000).toISOString() })
    const eventTypes = events.map((e) => e.event_type).reverse()
    print(`events: ${eventTypes.join(", ")}`)
    return {
      childrenIssued: issued.length,
      childrenAfterDeactivation: remaining.length,
      credentialsAfterDelete: left.length,
      eventTypes
    }
  } finally {
    await server.close()
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const command = Command.make(
    "example-seam",
    { verbose: Flag.Boolean("verbose").pipe(Flag.withDescription("On an error, print its full cause."), Flag.withDefault(false)) },
    () => Effect.tryPromise({ try: () => main(), catch: (e) => (e instanceof Error ? e : new Error(String(e))) })
  ).pipe(Command.withDescription("Seam's mobile-credential flow with Seam's SDK against a self-hosted credsync."))
  Cli.run(command, { version: "0.1.0" })
}
