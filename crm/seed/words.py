"""The words, places and proportions the demo data is made of."""

from decimal import Decimal

# (region, places, kinds of property, price factor)
REGIONS = [
    (
        "Cotswolds",
        [
            "Bourton-on-the-Water, Gloucestershire",
            "Chipping Campden, Gloucestershire",
            "Stow-on-the-Wold, Gloucestershire",
            "Burford, Oxfordshire",
            "Broadway, Worcestershire",
            "Bibury, Gloucestershire",
        ],
        ["Barn", "Manor", "Cottage", "Farmhouse", "Coach House"],
        1.3,
    ),
    (
        "Cornwall",
        [
            "St Ives, Cornwall",
            "Padstow, Cornwall",
            "Fowey, Cornwall",
            "Port Isaac, Cornwall",
            "Mousehole, Cornwall",
            "Falmouth, Cornwall",
            "Bude, Cornwall",
        ],
        ["Cottage", "Fisherman's Cottage", "Harbour House", "Beach House", "Chapel"],
        1.2,
    ),
    (
        "Lake District",
        [
            "Windermere, Cumbria",
            "Ambleside, Cumbria",
            "Keswick, Cumbria",
            "Coniston, Cumbria",
            "Grasmere, Cumbria",
            "Ullswater, Cumbria",
        ],
        ["Lodge", "Fell Lodge", "Cottage", "Bothy", "Hall"],
        1.15,
    ),
    (
        "York",
        ["York, North Yorkshire", "Whitby, North Yorkshire", "Harrogate, North Yorkshire", "Helmsley, North Yorkshire"],
        ["Townhouse", "Georgian Townhouse", "Mews House", "Vicarage"],
        1.0,
    ),
    (
        "Peak District",
        ["Bakewell, Derbyshire", "Castleton, Derbyshire", "Hathersage, Derbyshire", "Buxton, Derbyshire"],
        ["Farmhouse", "Barn", "Mill", "Cottage"],
        1.0,
    ),
    (
        "Norfolk",
        ["Burnham Market, Norfolk", "Wells-next-the-Sea, Norfolk", "Blakeney, Norfolk", "Holt, Norfolk"],
        ["Flint Cottage", "Windmill", "Rectory", "Boathouse"],
        1.05,
    ),
    (
        "Devon",
        ["Salcombe, Devon", "Dartmouth, Devon", "Croyde, Devon", "Lynmouth, Devon"],
        ["Harbour House", "Longhouse", "Cottage", "Boathouse"],
        1.15,
    ),
    ("Bath", ["Bath, Somerset", "Frome, Somerset", "Wells, Somerset"], ["Townhouse", "Crescent House", "Villa"], 1.2),
    (
        "Snowdonia",
        ["Betws-y-Coed, Conwy", "Beddgelert, Gwynedd", "Dolgellau, Gwynedd"],
        ["Chapel", "Slate Cottage", "Lodge", "Farmhouse"],
        0.9,
    ),
    (
        "Scottish Highlands",
        ["Aviemore, Highland", "Fort William, Highland", "Glencoe, Highland", "Pitlochry, Perth and Kinross"],
        ["Lodge", "Shooting Lodge", "Castle", "Steading", "Bothy"],
        1.1,
    ),
    (
        "Northumberland",
        ["Bamburgh, Northumberland", "Alnwick, Northumberland", "Rothbury, Northumberland"],
        ["Bastle House", "Farmhouse", "Cottage", "Tower"],
        0.95,
    ),
    (
        "New Forest",
        ["Lyndhurst, Hampshire", "Brockenhurst, Hampshire", "Lymington, Hampshire"],
        ["Lodge", "Thatched Cottage", "Manor", "Barn"],
        1.1,
    ),
]
NAME_WORDS = [
    "Meadow",
    "Willow",
    "Oak",
    "Ash",
    "Heron",
    "Kestrel",
    "Rowan",
    "Bramble",
    "Foxglove",
    "Holly",
    "Swallow",
    "Harbour",
    "Lantern",
    "Saltings",
    "Orchard",
    "Beacon",
    "Larch",
    "Skylark",
    "Hazel",
    "Primrose",
    "Otter",
    "Curlew",
    "Thistle",
    "Fernbank",
    "Mill",
    "Brook",
    "Elder",
    "Juniper",
]
FEATURES = [
    "a wood-burning stove",
    "a hot tub under the stars",
    "an Aga in the farmhouse kitchen",
    "a games room with a full-size snooker table",
    "a heated indoor pool",
    "a walled garden",
    "a long oak dining table that seats everyone",
    "fast Wi-Fi and a dedicated workspace",
    "a boot room for muddy walkers",
    "a sauna and cold plunge",
    "sea views from every bedroom",
    "a private path down to the beach",
    "a vaulted barn with exposed beams",
    "a firepit and outdoor kitchen",
    "a cinema room",
    "a tennis court",
    "a dog-friendly enclosed garden",
    "EV charging on the drive",
]
NEARBY = [
    "the village pub is a five-minute stroll away",
    "the coast path starts at the gate",
    "there are fell walks straight from the door",
    "the Minster is a ten-minute walk",
    "the farm shop and deli are just down the lane",
    "the harbour and its seafood restaurants are close by",
    "there is a National Trust garden a mile away",
    "the station is a short taxi ride",
    "the high street's independent shops are on the doorstep",
]
EVENT_WEIGHTS = {"birthday": 30, "family": 25, "hen_stag": 15, "wedding": 10, "corporate": 10, "other": 10}
OCCASIONS = {
    "birthday": ["a 40th birthday", "my mum's 70th", "a surprise 50th", "our twins' 30th", "a 60th birthday weekend"],
    "family": [
        "a family reunion",
        "three generations getting together",
        "our annual cousins' weekend",
        "Christmas with the whole family",
        "a half-term family break",
    ],
    "hen_stag": ["a hen weekend", "a stag do", "my sister's hen party", "a low-key stag weekend"],
    "wedding": ["our wedding", "a small wedding celebration", "the night before our wedding", "a wedding party"],
    "corporate": ["a team away-day", "a leadership offsite", "our company retreat", "a client workshop"],
    "other": ["a walking club weekend", "a book club retreat", "a yoga weekend", "a university reunion"],
}
QUESTIONS = [
    "Is the house free then?",
    "Could you let me know the total price?",
    "Is there parking for four cars?",
    "Can we bring our dog?",
    "Is early check-in possible?",
    "Are caterers allowed on site?",
    "Would you accept a deposit now and the balance later?",
    "Is the hot tub included?",
    "Is the ground floor suitable for my grandmother, who uses a wheelchair?",
]
REPLIES = [
    "Thanks for getting in touch. Yes, those dates are free at the moment. I've attached the booking terms.",
    "Lovely to hear from you. The house would suit your group; the total for those nights is below.",
    "Thank you for your enquiry. We do allow well-behaved dogs, and there is parking for several cars.",
    "Happy to help. We can offer early check-in from 1pm if the previous guests leave on time.",
    "Thanks for your message. Caterers are welcome; I can send you a list of local ones we recommend.",
]
NOTES = [
    "Called the guest, they are comparing two houses.",
    "Guest asked for a revised quote without the hot tub.",
    "Left a voicemail about the deposit.",
    "Repeat guest, stayed with us last year.",
    "Guest prefers WhatsApp, number on file.",
    "Sent the house manual and directions.",
    "Owner asked us to chase the balance.",
    "Budget is tight, offered a midweek discount.",
]
LOST_REASONS = [
    "Booked somewhere else",
    "Dates not available",
    "Over budget",
    "Group too large for the house",
    "Guest stopped replying",
    "Event cancelled",
    "Wanted a shorter stay than the minimum",
]
SPAM_MESSAGES = [
    "Boost your Google ranking today! http://seo.example.net http://seo.example.net/a http://x.example",
    "Cheap watches www.watches.example.com www.watches.example.com/sale http://bit.example/abc",
    "Hello dear, I have a business proposal for you, kindly reply.",
    "Crypto opportunity, guaranteed returns http://coin.example http://coin.example/a http://b.example",
]
SPAM_REASONS = [
    ["honeypot field was filled in"],
    ["message contains 3 links"],
    ["sent 0.8 s after the form was served"],
    ["form token missing or not valid", "honeypot field was filled in"],
    ["more than 5 enquiries from this e-mail address in an hour"],
]
REJECTION_REASONS = [
    "Photos are too dark to show the rooms; please add daylight photos.",
    "We could not verify the address; please add the full postcode.",
    "The description mentions a different nightly price from the one entered.",
    "Maximum guests is higher than the bedrooms allow; please check.",
]
USER_AGENTS = [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/124.0 Mobile Safari/537.36",
]
GOOD_FOR = ["birthdays", "family gatherings", "celebrations", "walking groups", "hen weekends", "small weddings"]
MAIL_DOMAINS = ["example.com", "example.net", "example.org"]
PRICES = {"bronze": Decimal("99.00"), "silver": Decimal("199.00"), "gold": Decimal("349.00")}
MONTHLY_PRICES = {"bronze": Decimal("9.99"), "silver": Decimal("19.99"), "gold": Decimal("34.99")}

# Each final status is reached by one of these paths; the first step is how the enquiry arrived.
PATHS = {
    "new": [("new",)],
    "contacted": [("new", "contacted")],
    "negotiating": [("new", "contacted", "negotiating")],
    "booked": [("new", "contacted", "negotiating", "booked"), ("new", "contacted", "booked")],
    "lost": [("new", "contacted", "lost"), ("new", "contacted", "negotiating", "lost"), ("new", "lost")],
    "spam": [("spam",)],
}
STATUS_WEIGHTS = {"new": 8, "contacted": 14, "negotiating": 10, "booked": 26, "lost": 27, "spam": 15}
LISTING_WEIGHTS = {"live": 62, "paused": 8, "pending_approval": 10, "draft": 12, "rejected": 8}
MEMBERSHIP_WEIGHTS = {"active": 60, "expiring_soon": 10, "expired": 12, "cancelled": 10, "suspended": 8}
