/**
 * Card details shared by every phone credential of one multi-phone sync credential. Per-card values
 * (card_number) are allocated by the credential manager and never accepted here.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * The card details a multi-phone sync credential shares with its phone credentials: format, facility code and optional validity window.
 *
 * @since 0.1.0
 */
export const CardProfile = Schema.Struct({
  cardFormat: Schema.NonEmptyString,
  facilityCode: Schema.NonEmptyString,
  startsAt: Schema.optional(Schema.String),
  endsAt: Schema.optional(Schema.String)
})
export type CardProfile = typeof CardProfile.Type

/** Two credentials with the same profile key are interchangeable at a credential manager. */
export const profileKey = (c: Pick<CardProfile, "cardFormat" | "facilityCode">): string => `${c.cardFormat}/${c.facilityCode}`
