"""Open a local page in headless Chromium and report what a reader would meet: console errors,
failed or outside requests, the page's images, values read from the page, and a screenshot.

Chromium is driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``: commands in on
file descriptor 3, answers and events out on 4, each a JSON text ended by a NUL byte), so it needs
no browser download and no Python package beyond the standard library.
"""

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

CHROMIUM_NAMES = ('chromium', 'chromium-browser', 'google-chrome')
FLAGS = (
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--remote-debugging-pipe',
)
LAPTOP = (1366, 768)  # a common laptop screen, in CSS pixels


class BrowserError(RuntimeError):
    """Chromium could not be started or did not answer."""


def find_chromium() -> Optional[str]:
    """The path of a Chromium executable on PATH, or None."""
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


@dataclass
class PageVisit:
    """What loading one page showed."""

    console_errors: List[str] = field(default_factory=list)  # console.error, uncaught exceptions, error log entries
    failed_requests: List[str] = field(default_factory=list)  # 'URL: reason'
    requests: List[str] = field(default_factory=list)  # every URL the page asked for
    values: Dict[str, Any] = field(default_factory=dict)  # name -> result of a JavaScript expression
    screenshot: bytes = b''  # PNG of the first screen (or the full page)


class _Pipe:
    """The DevTools protocol over Chromium's pipe: numbered commands, events kept as they come."""

    def __init__(self, process: subprocess.Popen, to_browser: int, from_browser: int):
        self.process, self.to_browser, self.from_browser = process, to_browser, from_browser
        self.buffer, self.events, self.next_id = b'', [], 0

    def _messages(self, deadline: float):
        while b'\0' not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0 or self.process.poll() is not None:
                raise BrowserError('Chromium stopped answering on the DevTools pipe')
            ready, _, _ = select.select([self.from_browser], [], [], left)
            if ready:
                chunk = os.read(self.from_browser, 1 << 20)
                if not chunk:
                    raise BrowserError('Chromium closed the DevTools pipe')
                self.buffer += chunk
        message, self.buffer = self.buffer.split(b'\0', 1)
        return json.loads(message)

    def send(
        self, method: str, params: Optional[dict] = None, session: Optional[str] = None, timeout: float = 30.0
    ) -> dict:
        self.next_id += 1
        command = {'id': self.next_id, 'method': method, 'params': params or {}}
        if session:
            command['sessionId'] = session
        os.write(self.to_browser, json.dumps(command).encode() + b'\0')
        deadline = time.monotonic() + timeout
        while True:
            message = self._messages(deadline)
            if message.get('id') == self.next_id:
                if 'error' in message:
                    raise BrowserError(f'{method}: {message["error"]}')
                return message.get('result', {})
            self.events.append(message)

    def wait_for(self, method: str, timeout: float = 30.0) -> dict:
        deadline = time.monotonic() + timeout
        for event in self.events:
            if event.get('method') == method:
                return event
        while True:
            message = self._messages(deadline)
            self.events.append(message)
            if message.get('method') == method:
                return message


def _collect(events: List[dict], visit: PageVisit) -> None:
    for event in events:
        method, params = event.get('method'), event.get('params', {})
        if method == 'Runtime.consoleAPICalled' and params.get('type') in ('error', 'assert'):
            visit.console_errors.append(' '.join(str(a.get('value', a.get('description', ''))) for a in params['args']))
        elif method == 'Runtime.exceptionThrown':
            visit.console_errors.append(params['exceptionDetails'].get('text', 'uncaught exception'))
        elif method == 'Log.entryAdded' and params['entry'].get('level') == 'error':
            visit.console_errors.append(params['entry'].get('text', ''))
        elif method == 'Network.requestWillBeSent':
            visit.requests.append(params['request']['url'])
        elif method == 'Network.loadingFailed':
            url = next(
                (
                    e['params']['request']['url']
                    for e in events
                    if e.get('method') == 'Network.requestWillBeSent'
                    and e['params']['requestId'] == params['requestId']
                ),
                params['requestId'],
            )
            visit.failed_requests.append(f'{url}: {params.get("errorText", "failed")}')


def visit_page(
    page: Path,
    expressions: Optional[Dict[str, str]] = None,
    size=LAPTOP,
    full_page: bool = False,
    fragment: str = '',
    chromium: Optional[str] = None,
    timeout: float = 60.0,
) -> PageVisit:
    """Load ``page`` (scrolled to the element whose id is ``fragment``, if given) in a fresh headless
    Chromium at ``size`` (CSS pixels) and report what happened.

    ``expressions`` maps names to JavaScript expressions evaluated after the load (their JSON values
    land in ``values``). The screenshot shows the first screen, or the whole page with ``full_page``.
    """
    chromium = chromium or find_chromium()
    if not chromium:
        raise BrowserError(
            f'no Chromium on PATH (looked for {", ".join(CHROMIUM_NAMES)}); on Debian: apt-get install chromium'
        )
    url = Path(page).resolve().as_uri() + (f'#{fragment}' if fragment else '')
    with tempfile.TemporaryDirectory(prefix='chromium-profile-') as profile:
        to_browser_read, to_browser = os.pipe()
        from_browser, from_browser_write = os.pipe()

        def onto_3_and_4():  # Chromium reads commands on fd 3 and writes on fd 4
            # copies above 10 first, as the pipe's own descriptors may be 3 or 4; dup2 then makes 3 and 4
            # inheritable, and every other descriptor of Python's is not (PEP 446): close_fds=False leaks none
            reading, writing = (
                fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in (to_browser_read, from_browser_write)
            )
            os.dup2(reading, 3)
            os.dup2(writing, 4)

        process = subprocess.Popen(
            [chromium, *FLAGS, f'--user-data-dir={profile}', 'about:blank'],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=onto_3_and_4,
            close_fds=False,
        )
        os.close(to_browser_read)
        os.close(from_browser_write)
        pipe = _Pipe(process, to_browser, from_browser)
        try:
            target = pipe.send('Target.createTarget', {'url': 'about:blank'}, timeout=timeout)['targetId']
            session = pipe.send('Target.attachToTarget', {'targetId': target, 'flatten': True})['sessionId']
            for domain in ('Runtime', 'Log', 'Network', 'Page'):
                pipe.send(f'{domain}.enable', session=session)
            width, height = size
            pipe.send(
                'Emulation.setDeviceMetricsOverride',
                {'width': width, 'height': height, 'deviceScaleFactor': 1, 'mobile': False},
                session=session,
            )
            pipe.events.clear()
            pipe.send('Page.navigate', {'url': url}, session=session)
            pipe.wait_for('Page.loadEventFired', timeout)
            visit = PageVisit()
            for name, expression in (expressions or {}).items():
                answer = pipe.send(
                    'Runtime.evaluate', {'expression': expression, 'returnByValue': True}, session=session
                )
                if 'exceptionDetails' in answer:
                    raise BrowserError(f'{name}: {answer["exceptionDetails"].get("text")}')
                visit.values[name] = answer['result'].get('value')
            if full_page:  # a window as tall as the page
                content = pipe.send('Page.getLayoutMetrics', session=session)['cssContentSize']
                pipe.send(
                    'Emulation.setDeviceMetricsOverride',
                    {'width': width, 'height': int(content['height']), 'deviceScaleFactor': 1, 'mobile': False},
                    session=session,
                )
            shot = pipe.send('Page.captureScreenshot', {'format': 'png'}, session=session)
            visit.screenshot = base64.b64decode(shot['data'])
            _collect(pipe.events, visit)
            try:
                pipe.send('Browser.close', timeout=5)
            except BrowserError:
                pass
        finally:
            os.close(to_browser)
            os.close(from_browser)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    return visit
