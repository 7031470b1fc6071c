"""Public intent labels -> taxonomy ids: how Bitext and BANKING77 messages become category training data.

Both mappings follow the golden set's labelling guideline (``include/golden/GUIDELINE.md``, sections 2 and 6):
order and account administration without a problem is ``other``, what a fee *will* cost is ``pricing``, money
that moved wrongly or is pending is ``billing``, a payment that failed is ``bug``, verification and PINs are
``account_access``. They map *intents*, so every message of an intent gets the same label: a message whose
wording disagrees with its intent's usual reading (a profane complaint, an explicit error) keeps the intent's
label here. The category model (``feedback_ops.enrich.category``) is trained on these labels, and
``bench/bench_enrich_local.py`` measures it with ``BITEXT_TO_TAXONOMY``; change a mapping only when the
guideline changes, never to move a figure.
"""

from __future__ import annotations

BITEXT_TO_TAXONOMY: dict[str, str] = {
    "recover_password": "account_access",
    "registration_problems": "account_access",
    "payment_issue": "billing",
    "get_refund": "billing",
    "track_refund": "billing",
    "check_refund_policy": "billing",
    "check_invoice": "billing",
    "get_invoice": "billing",
    "check_payment_methods": "billing",
    "check_cancellation_fee": "pricing",
    "delivery_period": "delivery",
    "delivery_options": "delivery",
    "track_order": "delivery",
    "set_up_shipping_address": "delivery",
    "change_shipping_address": "delivery",
    "contact_human_agent": "customer_service",
    "contact_customer_service": "customer_service",
    "complaint": "customer_service",
    **dict.fromkeys(
        (
            "review",
            "place_order",
            "change_order",
            "cancel_order",
            "create_account",
            "edit_account",
            "switch_account",
            "delete_account",
            "newsletter_subscription",
        ),
        "other",
    ),
}
"""Every one of Bitext's 27 intents -> a taxonomy id: the mapping the golden set's labels were proposed from
(GUIDELINE.md section 6). Bitext's 11 categories are coarser than its intents (ORDER holds both
``track_order``, a delivery question, and ``place_order``), so the intent decides."""

_BANKING77_GROUPS: dict[str, tuple[str, ...]] = {
    "billing": (
        "lost_or_stolen_card",
        "compromised_card",
        "card_payment_not_recognised",
        "cash_withdrawal_not_recognised",
        "direct_debit_payment_not_recognised",
        "transaction_charged_twice",
        "wrong_amount_of_cash_received",
        "card_payment_fee_charged",
        "extra_charge_on_statement",
        "transfer_fee_charged",
        "cash_withdrawal_charge",
        "card_payment_wrong_exchange_rate",
        "wrong_exchange_rate_for_cash_withdrawal",
        "balance_not_updated_after_cheque_or_cash_deposit",
        "balance_not_updated_after_bank_transfer",
        "Refund_not_showing_up",
        "request_refund",
        "pending_transfer",
        "pending_top_up",
        "pending_card_payment",
        "pending_cash_withdrawal",
        "transfer_not_received_by_recipient",
        "transfer_timing",
        "cancel_transfer",
        "card_swallowed",
    ),
    "account_access": (
        "lost_or_stolen_phone",
        "pin_blocked",
        "change_pin",
        "passcode_forgotten",
        "unable_to_verify_identity",
        "verify_my_identity",
        "why_verify_identity",
        "verify_source_of_funds",
        "verify_top_up",
    ),
    "bug": (
        "card_not_working",
        "failed_transfer",
        "declined_card_payment",
        "declined_transfer",
        "declined_cash_withdrawal",
        "top_up_failed",
        "top_up_reverted",
        "reverted_card_payment?",
        "contactless_not_working",
        "virtual_card_not_working",
        "beneficiary_not_allowed",
    ),
    "delivery": ("card_arrival", "card_delivery_estimate"),
    "pricing": (
        "exchange_charge",
        "exchange_rate",
        "top_up_by_card_charge",
        "top_up_by_bank_transfer_charge",
        "order_physical_card",
    ),
    "other": (
        "activate_my_card",
        "age_limit",
        "apple_pay_or_google_pay",
        "atm_support",
        "automatic_top_up",
        "card_about_to_expire",
        "card_acceptance",
        "card_linking",
        "country_support",
        "disposable_card_limits",
        "edit_personal_details",
        "exchange_via_app",
        "fiat_currency_support",
        "get_disposable_virtual_card",
        "get_physical_card",
        "getting_spare_card",
        "getting_virtual_card",
        "receiving_money",
        "supported_cards_and_currencies",
        "terminate_account",
        "top_up_by_cash_or_cheque",
        "top_up_limits",
        "topping_up_by_card",
        "transfer_into_account",
        "visa_or_mastercard",
    ),
}

BANKING77_TO_TAXONOMY: dict[str, str] = {
    intent: category for category, intents in _BANKING77_GROUPS.items() for intent in intents
}
"""Every one of BANKING77's 77 intents (names as in its ``categories.json``, ``Refund_not_showing_up`` and
``reverted_card_payment?`` included) -> a taxonomy id. The 49 intents of the golden set's test rows map as
GUIDELINE.md section 6 proposes; the other 28 were decided by the same rules: pending, timing and
cancellation of transfers and a card kept by an ATM (a card the customer lost) are ``billing``; changing a PIN
and verifying a top-up or the source of funds are ``account_access``; what a top-up or an exchange will cost
is ``pricing``; how-tos about cards, top-ups, currencies and personal details are ``other``."""
