"""The session routes of the FAPI (tokens, touch, end, remove, DELETE /v1/client/sessions),
a mixin of fapi.Fapi."""
import copy
import time

import resources
from fapi_http import ClerkError, _org_not_found, json_response


class SessionRoutes:
    def _session_action(self, req, client, method, sess_id, action, template):
        with self.store.lock:
            s = client.sessions.get(sess_id)
        if s is None or s.status == "removed":
            raise ClerkError("resource_not_found", long_message="No session was found with id %s"
                             % sess_id[:60])
        user = self.store.users.get(s.user_id)
        if action is None:
            if method != "GET":
                raise ClerkError("resource_not_found")
            with self.store.lock:
                return self._wrap(client, resources.session_json(s, self.store))
        if method != "POST":
            raise ClerkError("resource_not_found")
        if action == "tokens":
            if s.status not in ("active", "pending"):
                raise ClerkError("signed_out")
            org = "active"
            tmpl = None
            if template is not None:
                with self.templates_lock:
                    tmpl = copy.deepcopy(self.templates.get(template))
                if tmpl is None:
                    raise ClerkError("resource_not_found", message="JWT template not found",
                                     long_message="No JWT template exists with name: %s"
                                     % template[:60])
            elif "organization_id" in req.form:
                wanted = req.form["organization_id"]
                org = None if wanted == "" else self.store.find_org(user, wanted)
                if wanted and org is None:
                    raise _org_not_found(wanted)
            jwt = self._session_jwt(s, user, org, tmpl)
            if template is None:
                s.last_jwt = jwt
            return json_response(200, {"object": "token", "jwt": jwt}, client.token)
        if action == "touch":
            if s.status not in ("active", "pending"):
                raise ClerkError("invalid_action_for_session", long_message=(
                    "Unable to touch session %s" % s.id))
            intent = req.form.get("intent")
            if intent not in (None, "", "focus", "select_session", "select_org"):
                raise ClerkError("form_param_value_invalid", {"param_name": "intent"})
            if "active_organization_id" in req.form:
                wanted = req.form["active_organization_id"]
                if wanted == "":
                    s.active_org = None
                else:
                    org = self.store.find_org(user, wanted)
                    if org is None:
                        raise _org_not_found(wanted)
                    s.active_org = org
                    self._resolve_org_task(s)
            s.last_active_at = s.updated_at = int(time.time() * 1000)
            s.last_jwt = self._session_jwt(s, user)
            with self.store.lock:
                client.last_active_session_id = s.id
                return self._wrap(client, resources.session_json(s, self.store))
        if action in ("end", "remove"):
            if action == "end" and s.status not in ("active", "pending"):
                raise ClerkError("invalid_action_for_session", long_message=(
                    "Unable to end session %s" % s.id))
            with self.store.lock:
                self.store.end_session(s, "ended" if action == "end" else "removed")
                self._refresh_last_active(client)
                return self._wrap(client, resources.session_json(s, self.store))
        raise ClerkError("resource_not_found")

    def _resolve_org_task(self, s):
        """Choosing an organization resolves a choose-organization task; a session whose
        tasks are all done becomes active."""
        if s.status != "pending" or not s.tasks:
            return
        s.tasks = [t for t in s.tasks if t["key"] != "choose-organization"]
        if not s.tasks:
            s.status = "active"

    def _refresh_last_active(self, client):
        active = [x.id for x in client.sessions.values() if x.status in ("active", "pending")]
        client.last_active_session_id = active[-1] if active else None
        client.updated_at = int(time.time() * 1000)

    def _remove_all_sessions(self, client):
        with self.store.lock:
            for s in client.sessions.values():
                if s.status in ("active", "pending", "ended"):
                    self.store.end_session(s, "removed")
            self._refresh_last_active(client)
            c = resources.client_json(client, self.store)
        return json_response(200, {"response": c, "client": c}, client.token)

