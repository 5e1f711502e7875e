/*
 * error_codes.h - every "code" the API answers, with the kind (and so the
 * HTTP status and API.md "type", see CD_ERROR_KINDS in error.h) it always
 * has. The reply layer takes the status and type of a known code from
 * here (cd_error_code_kind()), so no code has its status written twice.
 * docs/API.md's "Errors" table lists the same rows in the same order
 * (tests/e2e/errors.test.mjs reads both, and the ErrorCode enum of
 * docs/openapi.yaml, and compares). Codes outside this table (startup
 * errors of the CLI) keep the kind they were set with.
 */
#ifndef CD_UTIL_ERROR_CODES_H
#define CD_UTIL_ERROR_CODES_H

/* X(code, kind) - in the order of docs/API.md's table. */
#define CD_ERROR_CODES(X)                                                    \
    X(invalid_amount, INVALID)                                               \
    X(invalid_param, INVALID)                                                \
    X(missing_param, INVALID)                                                \
    X(redirect_not_allowed, INVALID)                                         \
    X(discount_unknown_code, INVALID)                                        \
    X(discount_inactive, INVALID)                                            \
    X(discount_expired, INVALID)                                             \
    X(discount_exhausted, INVALID)                                           \
    X(discount_not_applicable, INVALID)                                      \
    X(amount_below_minimum, INVALID)                                         \
    X(unknown_package, INVALID)                                              \
    X(unknown_plan, INVALID)                                                 \
    X(invalid_kind, INVALID)                                                 \
    X(missing_account, INVALID)                                              \
    X(invalid_idempotency_key, INVALID)                                      \
    X(invalid_json, INVALID)                                                 \
    X(invalid_email, INVALID)                                                \
    X(weak_password, INVALID)                                                \
    X(invalid_verification_token, INVALID)                                   \
    X(invalid_reset_token, INVALID)                                          \
    X(invalid_external_id, INVALID)                                          \
    X(invalid_signature, INVALID)                                            \
    X(timestamp_out_of_tolerance, INVALID)                                   \
    X(invalid_event, INVALID)                                                \
    X(invalid_path, INVALID)                                                 \
    X(invalid_transfer_encoding, INVALID)                                    \
    X(invalid_header, INVALID)                                               \
    X(duplicate_header, INVALID)                                             \
    X(capture_exceeds_hold, INVALID)                                         \
    X(unauthorized, AUTH)                                                    \
    X(invalid_credentials, AUTH)                                             \
    X(invalid_portal_link, AUTH)                                             \
    X(invalid_token, AUTH)                                                   \
    X(unauthenticated, AUTH)                                                 \
    X(insufficient_balance, PAYMENT)                                         \
    X(card_declined, PAYMENT)                                                \
    X(email_not_verified, FORBIDDEN)                                         \
    X(forbidden, FORBIDDEN)                                                  \
    X(csrf_failed, FORBIDDEN)                                                \
    X(account_not_found, NOT_FOUND)                                          \
    X(unknown_session, NOT_FOUND)                                            \
    X(not_found, NOT_FOUND)                                                  \
    X(order_not_found, NOT_FOUND)                                            \
    X(no_subscription, NOT_FOUND)                                            \
    X(hold_not_found, NOT_FOUND)                                             \
    X(method_not_allowed, METHOD)                                            \
    X(email_taken, CONFLICT)                                                 \
    X(code_exists, CONFLICT)                                                 \
    X(no_email, CONFLICT)                                                    \
    X(email_already_verified, CONFLICT)                                      \
    X(external_id_taken, CONFLICT)                                           \
    X(no_saved_payment_method, CONFLICT)                                     \
    X(order_not_refundable, CONFLICT)                                        \
    X(idempotency_key_reused, CONFLICT)                                      \
    X(no_stripe_customer, CONFLICT)                                          \
    X(subscription_ended, CONFLICT)                                          \
    X(idempotency_in_progress, CONFLICT)                                     \
    X(hold_not_active, CONFLICT)                                             \
    X(body_too_large, TOO_LARGE)                                             \
    X(unsupported_media_type, UNSUPPORTED_MEDIA)                             \
    X(headers_too_large, HEADERS_TOO_LARGE)                                  \
    X(rate_limited, RATE)                                                    \
    X(too_many_pending_orders, RATE)                                         \
    X(internal_error, INTERNAL)                                              \
    X(unsupported_transfer_encoding, NOT_IMPLEMENTED)                        \
    X(stripe_error, UPSTREAM)                                                \
    X(not_ready, UNAVAILABLE)                                                \
    X(server_busy, UNAVAILABLE)                                              \
    X(stripe_not_configured, UNAVAILABLE)                                    \
    X(webhook_secret_not_configured, UNAVAILABLE)

#endif
