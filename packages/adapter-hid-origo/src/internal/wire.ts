/** Wire schemas of the HID Origo MI v2.2 responses. Only the fields the adapter reads; extra fields are ignored. */
import { Schema } from "effect"

export const URN = {
  user: "urn:ietf:params:scim:schemas:core:2.0:User",
  userAction: "urn:hid:scim:api:ma:2.2:UserAction",
  invitation: "urn:hid:scim:api:ma:2.2:UserInvitation",
  container: "urn:hid:scim:api:ma:2.2:CredentialContainer",
  credential: "urn:hid:scim:api:ma:2.2:Credential",
  partNumber: "urn:hid:scim:api:ma:2.2:PartNumber",
  searchRequest: "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
} as const

export const MEDIA_TYPE = "application/vnd.assaabloy.ma.credential-management-2.2+json"

/** Ids are numbers for users, invitations, containers and credentials; strings for part numbers. */
const Id = Schema.Union([Schema.Number, Schema.String])
const Opt = Schema.optional

const Meta = Schema.Struct({ resourceType: Opt(Schema.String), lastModified: Opt(Schema.String), location: Opt(Schema.String) })

export const Token = Schema.Struct({
  access_token: Schema.String,
  token_type: Schema.String,
  expires_in: Schema.Number
})

export const Credential = Schema.Struct({
  id: Id,
  partNumber: Schema.String,
  partnumberFriendlyName: Opt(Schema.String),
  status: Schema.String,
  credentialType: Opt(Schema.String),
  cardNumber: Opt(Schema.Union([Schema.String, Schema.Number]))
})
export type Credential = typeof Credential.Type

export const Invitation = Schema.Struct({
  id: Id,
  invitationCode: Schema.String,
  status: Schema.String,
  createdDate: Opt(Schema.String),
  expirationDate: Opt(Schema.String)
})
export type Invitation = typeof Invitation.Type

export const Container = Schema.Struct({
  id: Id,
  status: Schema.String,
  // HID's endpoint events name the invitation (`invitationId`). ASSUMPTION: so does the REST container.
  invitationId: Opt(Id),
  [URN.credential]: Opt(Schema.Array(Credential))
})
export type Container = typeof Container.Type

export const User = Schema.Struct({
  id: Opt(Id),
  externalId: Opt(Schema.String),
  name: Opt(Schema.Struct({ familyName: Opt(Schema.String), givenName: Opt(Schema.String) })),
  emails: Opt(Schema.Array(Schema.Struct({ value: Schema.String }))),
  status: Opt(Schema.String),
  meta: Opt(Meta),
  [URN.invitation]: Opt(Schema.Array(Invitation)),
  [URN.container]: Opt(Schema.Array(Container))
})
export type User = typeof User.Type

export const PartNumber = Schema.Struct({
  id: Schema.String,
  partNumber: Schema.String,
  friendlyName: Opt(Schema.String),
  availableQty: Opt(Schema.Number),
  nextNumber: Opt(Schema.Number),
  lastNumber: Opt(Schema.Number),
  programmingData: Opt(Schema.Record(Schema.String, Schema.Unknown)),
  meta: Opt(Meta)
})
export type PartNumber = typeof PartNumber.Type

export const listResponse = <S extends Schema.Top>(item: S) =>
  Schema.Struct({
    totalResults: Schema.Number,
    itemsPerPage: Opt(Schema.Number),
    startIndex: Opt(Schema.Number),
    Resources: Opt(Schema.Array(item))
  })

export const UserList = listResponse(User)
export const PartNumberList = listResponse(PartNumber)

export const InvitationEnvelope = Schema.Struct({
  [URN.invitation]: Schema.Array(Invitation),
  [URN.credential]: Opt(Schema.Array(Credential))
})
export const ContainerEnvelope = Schema.Struct({ [URN.container]: Schema.Array(Container) })
export const CredentialEnvelope = Schema.Struct({ [URN.credential]: Schema.Array(Credential) })
export const PartNumberEnvelope = Schema.Struct({ [URN.partNumber]: Schema.Array(PartNumber) })

/** Event filter as public code creates it (`{filterSet}`). ASSUMPTION: HID answers it with its `id`. */
export const EventFilter = Schema.Struct({ id: Id, filterSet: Schema.Array(Schema.String) })
export type EventFilter = typeof EventFilter.Type
export const EventFilterList = Schema.Array(EventFilter)

/** ASSUMPTION: HID answers a registration with its `id`, `url` and `filterId` (never the API key). */
export const CallbackRegistration = Schema.Struct({
  id: Id,
  url: Schema.String,
  filterId: Opt(Id),
  authenticationType: Opt(Schema.String)
})
export type CallbackRegistration = typeof CallbackRegistration.Type
export const CallbackRegistrationList = Schema.Array(CallbackRegistration)

/** SCIM error body; HID's `detail` is what clients show. */
export const ScimError = Schema.Struct({
  status: Opt(Schema.Union([Schema.Number, Schema.String])),
  detail: Opt(Schema.String),
  scimType: Opt(Schema.String)
})
export type ScimError = typeof ScimError.Type
