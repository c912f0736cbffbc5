"""The peer's pages: the stock admin (25 rows a page, and a second site with 100), and the
API: ``/api/users/me``, the users list (limit/offset with a count), simplejwt's token."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User
from django.urls import path
from rest_framework import generics, serializers
from rest_framework.permissions import IsAdminUser
from rest_framework_simplejwt.views import TokenObtainPairView


class UserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = [  # noqa: RUF012 (Django's own style)
            "id",
            "username",
            "email",
            "first_name",
            "last_name",
            "is_active",
            "is_staff",
        ]


class Me(generics.RetrieveAPIView):
    serializer_class = UserSerializer

    def get_object(self):
        return self.request.user


class Users(generics.ListAPIView):
    serializer_class = UserSerializer
    permission_classes = [IsAdminUser]  # noqa: RUF012 (DRF's own style)
    queryset = User.objects.order_by("id")


class HundredRows(UserAdmin):
    list_per_page = 100


site100 = admin.AdminSite(name="admin100")
site100.register(User, HundredRows)

urlpatterns = [
    path("admin/", admin.site.urls),
    path("admin100/", site100.urls),
    path("api/token/", TokenObtainPairView.as_view()),
    path("api/users/me", Me.as_view()),
    path("api/users/", Users.as_view()),
]
