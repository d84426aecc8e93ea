"""Serializer helpers shared by the apps' APIs."""

import copy


class FieldsBuiltOnce:
    """A ModelSerializer whose fields are worked out from the model once per class, then copied for each instance.

    DRF introspects the model afresh for every instance (about 1 ms for an account), which a hot read such as
    `/api/accounts/me/` pays on every request. Only for read-only serializers whose fields do not depend on the
    instance, the request or the context.
    """

    def get_fields(self):
        built = type(self).__dict__.get("_fields_built_once")
        if built is None:
            built = super().get_fields()
            type(self)._fields_built_once = built
        return copy.deepcopy(built)
