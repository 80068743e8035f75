"""The api's tests. In-process settings never read the developer's `.env` (servers started by the
tests get the same: `ENV_FILE=/dev/null`); tests pass what they need explicitly."""

import os

os.environ["ENV_FILE"] = "/dev/null"
