"""Stored-XSS payloads: each would run `alert` (or set window.__xss) if it got through.

Script tags, event handlers, javascript:/data: URLs, SVG and MathML, markup
that browsers repair (unclosed, nested, mis-cased, broken by NUL or newlines),
attribute and template break-outs, and Markdown link and image forms. Every
one fits a 200-character field.
"""

PAYLOADS: list[str] = [
    # Script tags
    "<script>alert('xss-1')</script>",
    "<SCRIPT>alert('xss-2')</SCRIPT>",
    "<script src=data:text/javascript,alert('xss-3')></script>",
    "<scr<script>ipt>alert('xss-4')</scr</script>ipt>",
    "<script>window.__xss=5</script>",
    "<<script>alert('xss-6');//<</script>",
    "</title><script>alert('xss-7')</script>",
    "</textarea><script>alert('xss-8')</script>",
    "</script><script>alert('xss-9')</script>",
    "<script\x20type=\"text/javascript\">alert('xss-10')</script>",
    # Event handlers
    "<img src=x onerror=alert('xss-11')>",
    "<img src=x onerror=\"alert('xss-12')\">",
    "<IMG SRC=x OnErRoR=alert('xss-13')>",
    "<body onload=alert('xss-14')>",
    "<input autofocus onfocus=alert('xss-15')>",
    "<details open ontoggle=alert('xss-16')>",
    "<video><source onerror=alert('xss-17')></video>",
    "<audio src=x onerror=alert('xss-18')>",
    "<marquee onstart=alert('xss-19')>x</marquee>",
    "<div onmouseover=alert('xss-20') style=position:fixed;inset:0>x</div>",
    "<select autofocus onfocus=alert('xss-21')></select>",
    "<textarea autofocus onfocus=alert('xss-22')></textarea>",
    "<img src=x:x onerror=window.__xss=23>",
    "<image src=x onerror=alert('xss-24')>",
    "<style onload=alert('xss-25')></style>",
    # javascript: and data: URLs
    "<a href=\"javascript:alert('xss-26')\">click</a>",
    "<a href=\"JaVaScRiPt:alert('xss-27')\">click</a>",
    "<a href=\"&#106;avascript:alert('xss-28')\">click</a>",
    "<a href=\" javascript:alert('xss-29')\">click</a>",
    "<a href=\"java\tscript:alert('xss-30')\">click</a>",
    "<a href=\"data:text/html,<script>alert('xss-31')</script>\">click</a>",
    "<iframe src=\"javascript:alert('xss-32')\"></iframe>",
    "<iframe srcdoc=\"<script>alert('xss-33')</script>\"></iframe>",
    "<object data=\"javascript:alert('xss-34')\"></object>",
    '<embed src="data:text/html;base64,PHNjcmlwdD5hbGVydCgzNSk8L3NjcmlwdD4=">',
    "<form action=\"javascript:alert('xss-36')\"><button>go</button></form>",
    "<button formaction=\"javascript:alert('xss-37')\">go</button>",
    '<meta http-equiv="refresh" content="0;url=javascript:alert(\'xss-38\')">',
    "<base href=\"javascript:alert('xss-39')//\">",
    # SVG and MathML
    "<svg onload=alert('xss-40')>",
    "<svg><script>alert('xss-41')</script></svg>",
    "<svg><animate onbegin=alert('xss-42') attributeName=x dur=1s>",
    "<svg><a xlink:href=\"javascript:alert('xss-43')\"><text y=20>x</text></a></svg>",
    "<svg><foreignObject><img src=x onerror=alert('xss-44')></foreignObject></svg>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert('xss-45')>",
    "<svg><set attributeName=onload to=alert('xss-46')>",
    # Malformed markup that browsers repair
    "<img/src=x/onerror=alert('xss-47')>",
    "<img src=x onerror\n=alert('xss-48')>",
    "<a\nhref=\"javascript:alert('xss-49')\">x</a>",
    "<noscript><p title=\"</noscript><img src=x onerror=alert('xss-50')>\">",
    "<!--<img src=\"--><img src=x onerror=alert('xss-51')//\">",
    "<title><img src=x onerror=alert('xss-52')></title>",
    "<div><p><img src=x onerror=alert('xss-53')",
    "<<img src=x onerror=alert('xss-54')//<",
    "<img src=`x`onerror=alert('xss-55')>",
    # Attribute, JSON and template break-outs
    '" onmouseover="alert(\'xss-56\')" x="',
    "' onfocus='alert(57)' autofocus='",
    "\"><img src=x onerror=alert('xss-58')>",
    "</bdi><img src=x onerror=alert('xss-59')>",
    "{{ 7*7 }}{% debug %}<img src=x onerror=alert('xss-60')>",
    "\\u003cimg src=x onerror=alert('xss-61')\\u003e",
    "\"}];alert('xss-62');//",
    # Markdown forms
    "[click](javascript:alert('xss-63'))",
    "[click](JAVASCRIPT:alert('xss-64'))",
    "![x](javascript:alert('xss-65'))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCg2Nik8L3NjcmlwdD4=)",
    "<http://x.example/\" onmouseover=\"alert('xss-67')>",
    '[a](x "title\\" onmouseover=alert(\'xss-68\')")',
]

assert len(PAYLOADS) >= 50
assert all(len(payload) <= 200 for payload in PAYLOADS)
