from common.urls import OptionalSlashRouter

from .views import EventViewSet

router = OptionalSlashRouter()
router.register("events", EventViewSet, basename="event")

urlpatterns = router.urls
