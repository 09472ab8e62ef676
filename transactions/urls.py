from common.urls import route

from .views import TransactionView

urlpatterns = [
    route("api/transactions", TransactionView.as_view(), "transactions"),
]
