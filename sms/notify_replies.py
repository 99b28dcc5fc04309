"""Texts of status-change notifications and of the DK/HUY confirmations. Pure.

Same two renderings as :mod:`sms.replies` (unaccented GSM-7 in one segment, or accented
UCS-2), same budgets. A notification carries only what the code alone may disclose (the
status), and how to stop it.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.dossier import Status
from sms.replies import SmsReplies
from sms.text import fold_to_gsm7

_TEXTS: dict[str, tuple[str, str]] = {
    "subscribed": (
        "Da dang ky nhan tin khi HS {code} thay doi trang thai (hien tai: {status}). Huy: soan"
        " HUY {code} gui {short_code}.",
        "Đã đăng ký nhận tin khi hồ sơ {code} thay đổi trạng thái (hiện tại: {status}). Hủy:"
        " soạn HUY {code} gửi {short_code}.",
    ),
    "already": (
        "So nay da dang ky nhan tin HS {code}. Huy: soan HUY {code} gui {short_code}.",
        "Số này đã đăng ký nhận tin hồ sơ {code}. Hủy: soạn HUY {code} gửi {short_code}.",
    ),
    "needs_factor": (
        "De nhan tin HS {code}, gui tu SDT dang ky ho so hoac soan DK {code} <4 so cuoi SDT"
        " dang ky> gui {short_code}.",
        "Để nhận tin hồ sơ {code}, gửi từ SĐT đăng ký hồ sơ hoặc soạn DK {code} <4 số cuối SĐT"
        " đăng ký> gửi {short_code}.",
    ),
    "final": (
        "HS {code} da ket thuc ({status}), khong con thay doi de bao tin.",
        "Hồ sơ {code} đã kết thúc ({status}), không còn thay đổi để báo tin.",
    ),
    "too_many": (
        "So nay da theo doi {cap} ho so, toi da cho phep. Soan HUY <ma> gui {short_code} de bot.",
        "Số này đã theo dõi {cap} hồ sơ, tối đa cho phép. Soạn HUY <mã> gửi {short_code} để bớt.",
    ),
    "unsubscribed": (
        "Da huy nhan tin HS {code}.",
        "Đã hủy nhận tin hồ sơ {code}.",
    ),
    "not_subscribed": (
        "So nay chua dang ky nhan tin HS {code}.",
        "Số này chưa đăng ký nhận tin hồ sơ {code}.",
    ),
    "unsubscribed_all": (
        "Da huy nhan tin {count} ho so.",
        "Đã hủy nhận tin {count} hồ sơ.",
    ),
    "none_to_cancel": (
        "So nay khong dang ky nhan tin ho so nao.",
        "Số này không đăng ký nhận tin hồ sơ nào.",
    ),
    "changed": (
        "HS {code} chuyen sang: {status}.{stop}",
        "Hồ sơ {code} chuyển sang: {status}.{stop}",
    ),
    "stop": (
        " Huy nhan tin: HUY {code} gui {short_code}.",
        " Hủy nhận tin: HUY {code} gửi {short_code}.",
    ),
    "ended": (" Da ket thuc, ngung bao tin.", " Đã kết thúc, ngừng báo tin."),
}


@dataclass(frozen=True, slots=True)
class NotifyReplies:
    """The texts of one deployment in one rendering; shares budgets with :class:`SmsReplies`."""

    replies: SmsReplies

    def subscribed(self, code: str, status: Status) -> str:
        return self._t("subscribed", code=code, status=self._status(status))

    def already(self, code: str) -> str:
        return self._t("already", code=code)

    def needs_factor(self, code: str) -> str:
        return self._t("needs_factor", code=code)

    def final(self, code: str, status: Status) -> str:
        return self._t("final", code=code, status=self._status(status))

    def too_many(self, cap: int) -> str:
        return self._t("too_many", cap=cap)

    def unsubscribed(self, code: str) -> str:
        return self._t("unsubscribed", code=code)

    def not_subscribed(self, code: str) -> str:
        return self._t("not_subscribed", code=code)

    def unsubscribed_all(self, count: int) -> str:
        return self._t("unsubscribed_all", count=count) if count else self._t("none_to_cancel")

    def changed(self, code: str, status: Status) -> str:
        """The notification: the new status, and how to stop (or that it has ended)."""
        tail = "ended" if status.is_final else "stop"
        stop = self._t(tail, code=code)
        full = self._t("changed", code=code, status=self._status(status), stop=stop)
        if self.replies.size(full) <= self.replies.budget:
            return full
        return self._t("changed", code=code, status=self._status(status), stop="")

    def not_found(self, code: str) -> str:
        return self.replies.not_found(code)

    def unavailable(self) -> str:
        return self.replies.unavailable()

    def rate_limited(self, retry_after: float | None) -> str:
        return self.replies.rate_limited(retry_after)

    def _status(self, status: Status) -> str:
        return status.label if self.replies.accented else status.sms_label.upper()

    def _t(self, key: str, **fields: str | int) -> str:
        fold, accented = _TEXTS[key]
        fields = {"short_code": self.replies.short_code, **fields}
        if self.replies.accented:
            text = accented.format(**fields)
        else:
            safe = {k: fold_to_gsm7(v).text if isinstance(v, str) else v for k, v in fields.items()}
            text = fold.format(**safe)
        while self.replies.size(text) > self.replies.budget:
            text = text[:-4] + "..."
        return text
