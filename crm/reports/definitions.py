"""One definition per figure, shared by the reports page, the report API, owner insights and the daily job.

- An enquiry counts when it is not spam, wherever it is counted (enquiry_count included).
- A booking is an enquiry whose status is booked; its value is its booking_value, counted once, from the
  enquiry (a property's total_revenue is the same sum, kept by the status service).
- An enquiry reached a stage when its furthest_stage (new < contacted < negotiating < booked) got there;
  it is lost at the furthest stage it reached.
- Time to first response is first_response_at - created_at: first_response_at is written in the same
  transaction as the first status-history row out of `new`. Time in a status is left_at - changed_at of a
  status-history row. Medians and 90th percentiles are nearest-rank.
- Views are the platform's count (the CRM copy follows it).
- A paid membership is one whose status is active or expiring_soon.
- Membership figures in a period: revenue is the paid payments' amounts by the month they were paid;
  new is a contact's first membership starting in the period; renewed is a paid payment that is not the
  owner's first; failed is a failed payment; cancelled is a membership cancelled in the period; lapsed is
  one that ended in the period without renewing (expired or cancelled); churn is the share of the
  memberships paid at the start of the period that lapsed by its end.
"""

from __future__ import annotations

from sqlalchemy import case, func

from ..memberships.rules import PAID_STATUSES
from ..models import CrmEnquiry, Membership

COUNTED = CrmEnquiry.status != "spam"
BOOKED = CrmEnquiry.status == "booked"
BOOKING_VALUE = func.coalesce(func.sum(case((BOOKED, CrmEnquiry.booking_value), else_=0)), 0)
PAID_MEMBERSHIP = Membership.status.in_(PAID_STATUSES)


def count_if(condition):
    """SUM(CASE WHEN condition THEN 1 ELSE 0 END): a conditional count that both engines read the same."""
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def rate(part: int | float, whole: int | float) -> float:
    """part / whole from 0 to 1, rounded to four places; 0 when there is nothing to divide by."""
    return round(part / whole, 4) if whole else 0.0
