"""Validators of the order's store-owned values: its number, amounts, quantities and ISO 4217 currency
codes."""

import re

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext_lazy as _

# ISO 4217 active currency codes (the list maintained by SIX on behalf of ISO), funds codes included.
ISO_4217 = frozenset(
    """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD BTN BWP BYN BZD
    CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP
    GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW
    KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN
    NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL
    SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED VES
    VND VUV WST XAF XAG XAU XBA XBB XBC XBD XCD XCG XDR XOF XPD XPF XPT XSU XTS XUA YER ZAR ZMW ZWG ZWL
    """.split()  # noqa: SIM905 (a table reads best as a table)
)


def currency_normalised(value):
    """A currency code as the order keeps it: "eur", " Eur " and "EUR" are all EUR. The one normaliser of the
    console's form, the edit service (the API), the import and the stores' files; a value that is not text
    is left for the validators to refuse."""
    return value.strip().upper() if isinstance(value, str) else value


@deconstructible
class CurrencyCodeValidator:
    message = _("%(value)s is not an ISO 4217 currency code (such as EUR, BGN, USD)")

    def __call__(self, value: str) -> None:
        if value not in ISO_4217:
            raise ValidationError(self.message, code="currency", params={"value": value})

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CurrencyCodeValidator)

    def __hash__(self) -> int:
        return hash(type(self))


not_negative = MinValueValidator(0, message=_("cannot be negative"))
at_least_one = MinValueValidator(1, message=_("must be at least 1"))


# Characters an order number never has: whitespace (a CRLF in one breaks every email header that names the
# order), markup's and quoting's characters, and control characters.
NUMBER_FORBIDDEN = re.compile(r"[\s<>&\"'\x00-\x1f\x7f]")


def order_number_problem(number: str) -> str:
    """Why `number` cannot be an order number ("" when it can). The one rule for the import, the API and the
    console's order form."""
    found = NUMBER_FORBIDDEN.search(number)
    if found is None:
        return ""
    if found[0] == " ":
        return _("%(number)r contains spaces") % {"number": number}
    if found[0] in "\r\n":
        return _("%(number)r contains a line break") % {"number": number}
    return _("%(number)r contains %(character)r, which no order number has") % {
        "number": number,
        "character": found[0],
    }


def validate_order_number(number: str) -> None:
    problem = order_number_problem(number)
    if problem:
        raise ValidationError(problem, code="order_number")
