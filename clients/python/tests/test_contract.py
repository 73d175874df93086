"""The client against the API's description (docs/openapi.json): every route has a method on
both clients, and every schema's properties are fields of its dataclass."""

import dataclasses
import inspect
import json
import os
import unittest

from cascade_client import AsyncClient, Client
from cascade_client.client import OPERATIONS
from cascade_client.models import SCHEMAS

SPEC = os.path.join(os.path.dirname(__file__), "..", "..", "..", "docs", "openapi.json")


class ContractTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(SPEC) as f:
            cls.spec = json.load(f)

    def test_every_route_has_a_method(self):
        routes = {(m, p) for p, ops in self.spec["paths"].items() for m in ops}
        self.assertEqual(routes, set(OPERATIONS), "routes without a client method, or methods without a route")
        for name in OPERATIONS.values():
            self.assertTrue(callable(getattr(Client, name, None)), name)
            self.assertTrue(inspect.iscoroutinefunction(getattr(AsyncClient, name, None)), name)

    def test_query_parameters_are_arguments(self):
        for path, ops in self.spec["paths"].items():
            for method, op in ops.items():
                params = inspect.signature(getattr(Client, OPERATIONS[(method, path)])).parameters
                for p in op.get("parameters", []):
                    if p["in"] == "query" and p["name"] != "key":  # the dashboard's key travels as the bearer token
                        self.assertIn(p["name"], params, "%s %s: query parameter %s" % (method, path, p["name"]))

    def test_schemas_match_the_dataclasses(self):
        schemas = self.spec["components"]["schemas"]
        for name, cls in SCHEMAS.items():
            fields = {f.name for f in dataclasses.fields(cls)}
            props = set(schemas[name].get("properties", {}))
            self.assertEqual(props, fields, name)
            required = set(schemas[name].get("required", []))
            optional = {f.name for f in dataclasses.fields(cls)
                        if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING}
            self.assertFalse(required & optional - {"categorical", "numeric", "tags", "categories", "hidden"},
                             "%s: required fields with a default" % name)


if __name__ == "__main__":
    unittest.main()
