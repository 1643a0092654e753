"""factory_boy factories for the CRM's test data, built through the services (an org gets its
standard profiles, a user its audit row) so a test arranges what production would have."""

from __future__ import annotations

from typing import Any

import factory

from tandem.crm.orgs.models import Org
from tandem.crm.orgs.services import org_create
from tandem.crm.users.models import Profile, ProfileName, User
from tandem.crm.users.services import user_create

PASSWORD = "correct horse battery staple"


class OrgFactory(factory.Factory):
    """An org with the System Administrator, Standard User and Marketing User profiles."""

    class Meta:
        model = Org

    name = factory.Sequence(lambda n: f"Org {n}")
    my_domain = factory.Sequence(lambda n: f"org{n}")

    @classmethod
    def _create(cls, model_class: type[Org], *args: Any, **kwargs: Any) -> Org:
        return org_create(**kwargs)


class UserFactory(factory.Factory):
    """A user of an org with a named profile and the shared test password."""

    class Meta:
        model = User

    org = factory.SubFactory(OrgFactory)
    username = factory.Sequence(lambda n: f"user{n}@acme.test")
    profile_name = ProfileName.STANDARD_USER

    @classmethod
    def _create(cls, model_class: type[User], *args: Any, **kwargs: Any) -> User:
        org, username = kwargs.pop("org"), kwargs.pop("username")
        profile = Profile.objects.get(org=org, name=kwargs.pop("profile_name"))
        return user_create(
            org=org,
            actor=None,
            username=username,
            email=username,
            last_name=username.split("@")[0],
            profile=profile,
            password=PASSWORD,
            **kwargs,
        )
