from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend


class UsernameOrEmailBackend(ModelBackend):
    """Log in with a username or an email address, in any case.

    Usernames may contain '@', so one identifier can name two accounts (one by username, another
    by email): each candidate's password is tried, so nobody can lock another person out by
    registering their address as a username.
    """

    def authenticate(self, request, username=None, password=None, email=None, **kwargs):
        if password is None or not (username or email):
            return None
        User = get_user_model()
        if username:
            candidates = [*User.objects.filter(username__iexact=username), *User.objects.filter(email__iexact=username)]
        else:
            candidates = list(User.objects.filter(email__iexact=email))
        if not candidates:
            # Spend the time a real check would, so response time does not reveal which accounts exist.
            User().set_password(password)
            return None
        for user in dict.fromkeys(candidates):
            if user.check_password(password) and self.user_can_authenticate(user):
                return user
        return None
