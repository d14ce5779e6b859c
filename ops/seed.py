"""A demo catalog and the shipping zones, sent through the command path so the events are
their source.

Deterministic: category `path` and product number `i` fix every field (a random
generator seeded with them; another one, seeded the same way, picks the variants, so
products keep the fields they had before variants) and the ids of the entity and of its command
(`uuid5` in the seed's namespace). Product `i` is the same whatever the count
asked for, so `--products 1000` then `--products 100000` adds the 99,000 others,
and a second run adds nothing: what the catalog view already shows is skipped,
and anything else sent again is answered as a duplicate by the processors. The zones
(the EU's 27 member states, the United Kingdom, the United States) are seeded the same
way: fixed ids, skipped once the orders view shows them.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from uuid import UUID

from sqlalchemy import select

from api.catalog import slugify
from infra.clients import Clients
from infra.command_bus import CommandBus, CommandTimeout
from projections.catalog import CatalogProjection
from projections.orders import OrdersProjection
from schemas.commands.catalog import CreateCategory, CreateProduct, NewVariant
from schemas.commands.shipping import CreateShippingZone
from schemas.events.catalog import Image, Option
from schemas.events.shipping import EstimatedDays, ZoneMethod
from schemas.messages import Command
from schemas.money import Money

NAMESPACE = uuid.UUID("5b0c1f4e-2d7a-4c1e-9a8e-3f1d2c0b5e77")
ACTOR = "seed"
IMAGE_HOST = "https://picsum.photos/seed"


@dataclass(frozen=True)
class Leaf:
    """What the products of a category are like."""

    nouns: tuple[str, ...]
    words: tuple[str, ...]  # what goes between brand and noun
    price_eur: tuple[int, int]
    specs: dict[str, tuple[str, ...]]
    coloured: bool = True  # comes in colours (books, say, do not)


def _leaf(nouns: str, words: str, low: int, high: int, coloured: bool = True,
          **specs: str) -> Leaf:
    return Leaf(tuple(nouns.split(", ")), tuple(words.split(", ")), (low, high),
                {name.replace("_", " ").capitalize(): tuple(values.split(", "))
                 for name, values in specs.items()}, coloured)


# The category tree: a name maps to its subcategories, or, for a leaf, to its products.
TREE: dict[str, dict | Leaf] = {
    "Shoes": {
        "Running": _leaf("Running Shoe, Trainer, Racing Flat", "Trail, Road, Tempo, Cushioned, "
                         "Featherlight, Stability, Marathon", 60, 220,
                         drop="4 mm, 6 mm, 8 mm, 10 mm", weight="210 g, 240 g, 265 g, 290 g",
                         upper="Engineered mesh, Knit, Ripstop", sizes="EU 36-47, EU 38-48"),
        "Hiking": _leaf("Hiking Boot, Approach Shoe, Trekking Shoe", "Alpine, Summit, Ridge, "
                        "Waterproof, Backcountry", 90, 280,
                        membrane="Gore-Tex, eVent, None", sole="Vibram Megagrip, Vibram XS Trek",
                        weight="480 g, 560 g, 640 g", cut="Mid, Low, High"),
        "Sneakers": _leaf("Sneaker, Low-Top Sneaker, High-Top Sneaker", "Canvas, Leather, "
                          "Retro, Court, Street, Vintage", 45, 180,
                          upper="Canvas, Suede, Full-grain leather", sole="Vulcanised rubber, "
                          "Cupsole", colour="White, Black, Navy, Olive, Cream"),
        "Boots": _leaf("Chelsea Boot, Work Boot, Winter Boot", "Heritage, Rugged, Insulated, "
                       "Classic, Urban", 80, 320, lining="Shearling, Leather, Thinsulate",
                       sole="Commando, Crepe, Lug", colour="Brown, Black, Tan"),
        "Sandals": _leaf("Sandal, Slide, Flip-Flop", "Summer, Beach, Cork, Comfort, Sport",
                         20, 120, footbed="Cork, EVA foam, Memory foam",
                         strap="Leather, Nylon webbing, Rubber"),
    },
    "Electronics": {
        "Audio": {
            "Headphones": _leaf("Headphones, Over-Ear Headphones, On-Ear Headphones", "Wireless, "
                                "Noise-Cancelling, Studio, Bluetooth, Hi-Fi, Travel", 40, 450,
                                battery_life="20 h, 30 h, 40 h, 60 h",
                                bluetooth="5.0, 5.2, 5.3", driver="40 mm, 45 mm, 50 mm",
                                noise_cancelling="Active, Passive, Hybrid"),
            "Earbuds": _leaf("Earbuds, True Wireless Earbuds, In-Ear Monitors", "Wireless, Sport, "
                             "Noise-Cancelling, Compact, Pro", 25, 300,
                             battery_life="6 h, 8 h, 10 h", case_charge="24 h, 30 h, 36 h",
                             water_resistance="IPX4, IPX5, IP57", bluetooth="5.2, 5.3, 5.4"),
            "Speakers": _leaf("Speaker, Bluetooth Speaker, Soundbar, Bookshelf Speaker",
                              "Portable, Waterproof, Smart, Stereo, Party", 30, 900,
                              output="10 W, 20 W, 40 W, 100 W", battery_life="12 h, 18 h, 24 h",
                              connectivity="Bluetooth 5.3, Wi-Fi and Bluetooth, HDMI eARC"),
        },
        "Computers": {
            "Laptops": _leaf("Laptop, Notebook, Ultrabook", "Thin, Gaming, Business, Creator, "
                             "Convertible", 450, 3200, display='13.3", 14", 15.6", 16"',
                             processor="8-core, 10-core, 12-core, 16-core",
                             memory="8 GB, 16 GB, 32 GB, 64 GB", storage="256 GB SSD, "
                             "512 GB SSD, 1 TB SSD, 2 TB SSD"),
            "Monitors": _leaf("Monitor, Display, Curved Monitor", "UltraWide, 4K, Gaming, "
                              "Office, Colour-Accurate", 120, 1500,
                              size='24", 27", 32", 34"', resolution="1920x1080, 2560x1440, "
                              "3840x2160", refresh_rate="60 Hz, 144 Hz, 165 Hz, 240 Hz",
                              panel="IPS, VA, OLED"),
            "Keyboards": _leaf("Keyboard, Mechanical Keyboard, Keypad", "Mechanical, Wireless, "
                               "Low-Profile, Tenkeyless, Ergonomic", 30, 260,
                               switches="Linear, Tactile, Clicky", layout="ANSI, ISO, "
                               "Nordic ISO", connectivity="USB-C, Bluetooth, 2.4 GHz"),
            "Mice": _leaf("Mouse, Gaming Mouse, Trackball", "Wireless, Ergonomic, Silent, "
                          "Precision, Travel", 15, 160, sensor="12,000 DPI, 26,000 DPI, "
                          "30,000 DPI", buttons="3, 6, 8", weight="58 g, 75 g, 99 g"),
        },
        "Phones": {
            "Smartphones": _leaf("Smartphone, Phone", "5G, Camera, Compact, Flagship, Rugged",
                                 180, 1400, display='6.1", 6.4", 6.7"', storage="128 GB, "
                                 "256 GB, 512 GB", camera="48 MP, 50 MP, 108 MP",
                                 battery="4,000 mAh, 4,500 mAh, 5,000 mAh"),
            "Phone Cases": _leaf("Phone Case, Wallet Case, Bumper", "Slim, Rugged, Clear, "
                                 "Leather, Magnetic", 10, 60, material="Silicone, "
                                 "Polycarbonate, Leather, TPU", drop_protection="1.2 m, 2 m, 3 m"),
            "Chargers": _leaf("Charger, Power Bank, Charging Stand", "Fast, Wireless, Compact, "
                              "Travel, GaN", 15, 120, output="20 W, 45 W, 65 W, 100 W",
                              ports="1 x USB-C, 2 x USB-C, USB-C and USB-A"),
        },
        "Cameras": {
            "Mirrorless Cameras": _leaf("Mirrorless Camera, Camera Body, Vlogging Camera",
                                        "Full-Frame, Compact, Hybrid, Street", 500, 4000,
                                        sensor="APS-C, Full frame, Micro Four Thirds",
                                        resolution="24 MP, 33 MP, 45 MP", video="4K 30p, 4K 60p, "
                                        "6K 30p", stabilisation="5-axis IBIS, Digital"),
            "Lenses": _leaf("Lens, Prime Lens, Zoom Lens", "Portrait, Wide-Angle, Telephoto, "
                            "Macro, Fast", 150, 2500, focal_length="24 mm, 35 mm, 50 mm, 85 mm, "
                            "24-70 mm, 70-200 mm", aperture="f/1.4, f/1.8, f/2.8, f/4",
                            mount="E-mount, RF, Z, L-mount"),
        },
        "Wearables": {
            "Smartwatches": _leaf("Smartwatch, Watch", "GPS, Fitness, Classic, Outdoor, Sport",
                                  90, 800, battery_life="2 days, 7 days, 14 days",
                                  display="AMOLED, MIP, LCD", water_resistance="5 ATM, 10 ATM"),
            "Fitness Trackers": _leaf("Fitness Tracker, Activity Band, Heart Rate Strap",
                                      "Slim, Sport, Sleep, Everyday", 25, 200,
                                      sensors="Heart rate, SpO2, Heart rate and SpO2",
                                      battery_life="5 days, 10 days, 14 days"),
        },
    },
    "Home & Kitchen": {
        "Cookware": _leaf("Frying Pan, Saucepan, Dutch Oven, Wok, Stockpot", "Cast Iron, "
                          "Non-Stick, Stainless, Enamelled, Carbon Steel", 20, 350,
                          diameter="20 cm, 24 cm, 28 cm, 32 cm", hob="Induction, Gas, All hobs",
                          oven_safe="Up to 220 °C, Up to 260 °C"),
        "Coffee & Tea": _leaf("Espresso Machine, Coffee Grinder, Pour-Over Kettle, Teapot, "
                              "French Press", "Barista, Manual, Electric, Ceramic, Glass",
                              15, 1200, capacity="0.6 l, 1 l, 1.7 l", material="Stainless steel, "
                              "Borosilicate glass, Ceramic", power="1,200 W, 1,500 W, None"),
        "Small Appliances": _leaf("Blender, Toaster, Air Fryer, Stand Mixer, Kettle",
                                  "Compact, Digital, Retro, Professional, Quiet", 25, 600,
                                  power="800 W, 1,200 W, 1,800 W", capacity="1 l, 1.5 l, 4 l, "
                                  "5.5 l", colour="Black, Cream, Steel, Red"),
        "Furniture": {
            "Chairs": _leaf("Chair, Office Chair, Armchair, Dining Chair", "Ergonomic, "
                            "Mid-Century, Oak, Velvet, Stackable", 50, 900,
                            material="Oak, Beech, Steel and mesh, Velvet", max_load="110 kg, "
                            "130 kg, 150 kg", assembly="Required, Not required"),
            "Desks": _leaf("Desk, Standing Desk, Writing Desk", "Height-Adjustable, Oak, "
                           "Compact, Corner, Walnut", 120, 1100, width="100 cm, 120 cm, 140 cm, "
                           "160 cm", height="72 cm, 65-125 cm", material="Oak veneer, "
                           "Solid walnut, Laminate"),
            "Shelves": _leaf("Bookshelf, Wall Shelf, Shelving Unit", "Modular, Floating, Oak, "
                             "Industrial, Narrow", 30, 600, shelves="3, 4, 5, 6",
                             material="Pine, Oak, Steel and wood", max_load="15 kg per shelf, "
                             "30 kg per shelf"),
        },
        "Lighting": _leaf("Desk Lamp, Floor Lamp, Pendant Light, Table Lamp", "LED, Dimmable, "
                          "Smart, Brass, Scandinavian", 20, 450, bulb="E27, GU10, Integrated LED",
                          colour_temperature="2700 K, 3000 K, 2700-6500 K", power="6 W, 9 W, 12 W"),
        "Bedding": _leaf("Duvet, Pillow, Duvet Cover, Fitted Sheet", "Linen, Cotton, Down, "
                         "Organic, Percale", 25, 400, size="Single, Double, King",
                         material="Linen, Organic cotton, Sateen, Down and feather",
                         thread_count="200, 300, 400"),
    },
    "Sports & Outdoors": {
        "Camping": {
            "Tents": _leaf("Tent, Backpacking Tent, Family Tent", "Ultralight, 4-Season, "
                           "Freestanding, Dome, Tunnel", 80, 900, capacity="1 person, 2 persons, "
                           "4 persons, 6 persons", weight="1.1 kg, 2.3 kg, 5.8 kg",
                           hydrostatic_head="3,000 mm, 5,000 mm"),
            "Sleeping Bags": _leaf("Sleeping Bag, Quilt, Sleeping Mat", "Down, Synthetic, "
                                   "Mummy, Summer, Winter", 40, 500, comfort_temperature="+10 °C, "
                                   "0 °C, -5 °C, -15 °C", fill="Duck down, Goose down, Synthetic",
                                   weight="650 g, 900 g, 1.4 kg"),
            "Backpacks": _leaf("Backpack, Daypack, Trekking Pack", "Hiking, Travel, Roll-Top, "
                               "Ultralight, Commuter", 35, 350, volume="20 l, 30 l, 45 l, 65 l",
                               material="Recycled nylon, Cordura, Dyneema",
                               back_length="Adjustable, S/M, M/L"),
        },
        "Cycling": _leaf("Bike Helmet, Bike Light, Cycling Jersey, Bike Lock", "Road, Gravel, "
                         "Commuter, Aero, Mountain", 20, 400, size="S, M, L, XL",
                         material="Polycarbonate, Aluminium, Recycled polyester"),
        "Fitness": {
            "Yoga": _leaf("Yoga Mat, Yoga Block, Yoga Strap", "Non-Slip, Eco, Travel, Cork, "
                          "Extra-Thick", 10, 140, thickness="3 mm, 4 mm, 6 mm",
                          material="Natural rubber, Cork, TPE"),
            "Weights": _leaf("Dumbbell Set, Kettlebell, Weight Plate", "Adjustable, Cast Iron, "
                             "Rubber, Competition", 20, 700, weight="8 kg, 12 kg, 16 kg, 24 kg, "
                             "2 x 24 kg", material="Cast iron, Steel, Rubber-coated"),
        },
        "Water Sports": _leaf("Wetsuit, Paddle Board, Swim Goggles, Snorkel Set", "Inflatable, "
                              "Thermal, Anti-Fog, Touring", 15, 900, thickness="3/2 mm, 4/3 mm, "
                              "5/4 mm", size="S, M, L, XL"),
    },
    "Clothing": {
        "Men": {
            "Men's Jackets": _leaf("Jacket, Rain Jacket, Down Jacket, Softshell", "Waterproof, "
                                   "Insulated, Packable, Windproof, Wool", 60, 500,
                                   material="Recycled polyester, Merino wool, Down",
                                   size="S, M, L, XL, XXL", fit="Regular, Slim, Relaxed"),
            "Men's Shirts": _leaf("Shirt, Oxford Shirt, Flannel Shirt, Polo", "Linen, Oxford, "
                                  "Organic, Slim, Brushed", 25, 140, material="Cotton, Linen, "
                                  "Organic cotton", size="S, M, L, XL, XXL",
                                  fit="Regular, Slim"),
            "Men's Trousers": _leaf("Chinos, Jeans, Trousers, Cargo Pants", "Stretch, Selvedge, "
                                    "Relaxed, Tapered, Hiking", 40, 220,
                                    material="Denim, Cotton twill, Nylon", waist="30, 32, 34, 36",
                                    leg="30, 32, 34"),
        },
        "Women": {
            "Dresses": _leaf("Dress, Midi Dress, Wrap Dress, Maxi Dress", "Linen, Floral, "
                             "Jersey, Summer, Knit", 35, 260, material="Linen, Viscose, Cotton, "
                             "Merino", size="XS, S, M, L, XL", length="Knee, Midi, Maxi"),
            "Women's Jackets": _leaf("Jacket, Rain Jacket, Puffer Jacket, Blazer", "Waterproof, "
                                     "Insulated, Tailored, Packable, Wool", 60, 480,
                                     material="Recycled nylon, Wool blend, Down",
                                     size="XS, S, M, L, XL"),
            "Tops": _leaf("T-Shirt, Blouse, Sweater, Cardigan", "Organic, Merino, Linen, "
                          "Oversized, Ribbed", 20, 180, material="Organic cotton, Merino wool, "
                          "Linen, Cashmere", size="XS, S, M, L, XL"),
        },
        "Kids": _leaf("Hoodie, Rain Suit, Pyjamas, T-Shirt", "Organic, Colourful, Cosy, "
                      "Waterproof, Playful", 12, 90, age="2-3 years, 4-5 years, 6-8 years, "
                      "9-11 years", material="Organic cotton, Recycled polyester"),
    },
    "Books": {
        "Fiction": _leaf("Novel, Short Stories, Thriller, Fantasy Novel", "Prize-Winning, "
                         "Gripping, Illustrated, Paperback, Hardback", 8, 40,
                         format="Paperback, Hardback, Large print", pages="224, 320, 416, 560",
                         language="English, German, French"),
        "Cookbooks": _leaf("Cookbook, Baking Book, Recipe Collection", "Vegetarian, Italian, "
                           "Quick, Seasonal, Japanese", 12, 50, format="Hardback, Paperback",
                           pages="192, 256, 320", recipes="80, 120, 150"),
        "Travel Guides": _leaf("Travel Guide, Atlas, Hiking Guide", "Pocket, Illustrated, "
                               "Updated, Regional", 10, 45, format="Paperback, Flexibound",
                               pages="160, 288, 400", edition="2025, 2026"),
        "Science": _leaf("Popular Science Book, Field Guide, Textbook", "Illustrated, "
                         "Accessible, Definitive, Pocket", 12, 90, format="Hardback, Paperback",
                         pages="256, 384, 512"),
    },
    "Toys & Games": {
        "Board Games": _leaf("Board Game, Card Game, Strategy Game", "Family, Cooperative, "
                             "Party, Classic, Expert", 12, 90, players="1-4, 2-4, 2-6, 3-8",
                             playing_time="20 min, 45 min, 90 min", age="8+, 10+, 14+"),
        "Puzzles": _leaf("Jigsaw Puzzle, Puzzle Box, Brain Teaser", "1000-Piece, Wooden, "
                         "Panoramic, Mini", 8, 60, pieces="500, 1,000, 1,500, 2,000",
                         age="8+, 12+, Adult"),
        "Building Sets": _leaf("Building Set, Construction Kit, Marble Run", "Creative, "
                               "Technic, Starter, Deluxe, Magnetic", 15, 250,
                               pieces="120, 450, 1,200, 3,000", age="4+, 8+, 12+, 18+"),
    },
    "Beauty": {
        "Skincare": _leaf("Moisturiser, Serum, Cleanser, Sunscreen", "Hydrating, Gentle, "
                          "Vitamin C, Fragrance-Free, SPF 50", 8, 120, volume="30 ml, 50 ml, "
                          "100 ml, 200 ml", skin_type="All, Dry, Oily, Sensitive"),
        "Fragrance": _leaf("Eau de Parfum, Eau de Toilette, Perfume Oil", "Citrus, Woody, "
                           "Floral, Fresh, Amber", 25, 250, volume="30 ml, 50 ml, 100 ml",
                           notes="Bergamot and cedar, Rose and musk, Vetiver and amber"),
        "Hair Care": _leaf("Shampoo, Conditioner, Hair Dryer, Hair Oil", "Nourishing, "
                           "Volumising, Ionic, Repairing", 6, 300, volume="250 ml, 500 ml, "
                           "None", hair_type="All, Curly, Fine, Coloured"),
    },
    "Garden": {
        "Garden Tools": _leaf("Pruning Shears, Spade, Rake, Hose, Trowel", "Ergonomic, "
                              "Stainless, Heavy-Duty, Telescopic", 10, 150,
                              material="Stainless steel, Carbon steel, Ash wood",
                              length="20 cm, 110 cm, 25 m"),
        "Plants & Seeds": _leaf("Seed Kit, Herb Garden, Bulb Set, Houseplant", "Organic, "
                                "Heirloom, Easy-Grow, Indoor", 4, 80, light="Full sun, "
                                "Partial shade, Indirect light", season="Spring, Summer, Autumn"),
        "Outdoor Furniture": _leaf("Garden Chair, Lounger, Patio Table, Hammock", "Teak, "
                                   "Folding, Weatherproof, Rattan", 50, 1200,
                                   material="Teak, Aluminium, Poly rattan",
                                   seats="1, 2, 4, 6"),
    },
}

# Leaves whose products have no colour.
UNCOLOURED = {"Fiction", "Cookbooks", "Travel Guides", "Science", "Board Games", "Puzzles",
              "Skincare", "Fragrance", "Hair Care", "Plants & Seeds"}

BRANDS = ("Nordwind", "Altura", "Kestrel", "Lumen", "Vantage", "Solace", "Ardent", "Brio",
          "Cobalt", "Driftwood", "Ember", "Fjell", "Granite", "Helix", "Juniper", "Kairo",
          "Larch", "Meridian", "Nimbus", "Orion", "Pinnacle", "Quill", "Ridgeway", "Sable",
          "Tundra", "Umbra", "Vesper", "Willow", "Yarrow", "Zephyr", "Aurora", "Beacon",
          "Cascade", "Dune", "Evergreen", "Falcon", "Halcyon", "Ironbark", "Lark", "Mistral")
MODELS = ("", "", "", "II", "III", "Pro", "Plus", "Max", "Mini", "2", "3", "S", "X", "Go")
COLOURS = ("Black", "White", "Grey", "Navy", "Olive", "Sand", "Red", "Forest Green", "Blue",
           "Charcoal", "Natural", "Rust")
OPENINGS = ("The {name} is made for {use}.", "Meet the {name}: {word_lower} and ready for {use}.",
            "Built for {use}, the {name} keeps things simple.",
            "{brand} designed this {word_lower} {noun_lower} for {use}.")
USES = ("everyday use", "long days out", "weekend adventures", "small spaces", "travel",
        "people who care about the details", "years of daily use", "beginners and experts alike",
        "busy mornings", "the outdoors")
MIDDLES = ("Its {spec_lower} sets it apart from others in its class.",
           "Reviewers praise its {quality}.",
           "Every detail, down to the {spec_lower}, was tested by our team.",
           "It pairs {quality} with a {word_lower} character.",
           "Expect {quality} that lasts.")
COLOURED_MIDDLES = ("It comes in {colour_lower}, among other colours.",
                    "Reviewers praise its {quality}, and it comes in {colour_lower}.")
QUALITIES = ("build quality", "comfort", "value for money", "reliability", "thoughtful design",
             "durability", "performance", "ease of use")
CLOSINGS = ("Backed by a {years}-year warranty.", "Ships in recyclable packaging.",
            "Free returns within 30 days.", "Covered by a {years}-year guarantee from {brand}.",
            "Dispatched within one working day.")


@dataclass(frozen=True)
class SeedCategory:
    path: str  # names from the root, joined by " > "
    slug: str
    name: str
    parent_path: str | None
    depth: int
    leaf: Leaf | None

    @property
    def category_id(self) -> UUID:
        return uuid.uuid5(NAMESPACE, f"category/{self.path}")

    @property
    def parent_id(self) -> UUID | None:
        return uuid.uuid5(NAMESPACE, f"category/{self.parent_path}") if self.parent_path else None

    def command(self) -> tuple[UUID, Command]:
        return (uuid.uuid5(NAMESPACE, f"command/category/{self.path}"),
                CreateCategory(category_id=self.category_id, slug=self.slug, name=self.name,
                               parent_id=self.parent_id))


def categories(limit: int | None = None) -> list[SeedCategory]:
    """The tree breadth first (parents before children), cut to the first `limit`."""
    found: list[SeedCategory] = []
    level: list[tuple[str | None, str | None, dict[str, dict | Leaf]]] = [(None, None, TREE)]
    depth = 0
    while level:
        below = []
        for parent_path, parent_slug, children in level:
            for name, content in children.items():
                path = f"{parent_path} > {name}" if parent_path else name
                slug = slugify(name)
                if any(c.slug == slug for c in found) and parent_slug:
                    slug = f"{parent_slug}-{slug}"
                leaf = content if isinstance(content, Leaf) else None
                if leaf is not None and name in UNCOLOURED:
                    leaf = replace(leaf, coloured=False)
                found.append(SeedCategory(path, slug, name, parent_path, depth, leaf))
                if isinstance(content, dict):
                    below.append((path, slug, content))
        level = below
        depth += 1
    return found[:limit] if limit else found


def _with_products(tree: list[SeedCategory]) -> list[SeedCategory]:
    """The categories products go in: leaves, or those whose subcategories were cut off."""
    parents = {c.parent_path for c in tree}
    return [c for c in tree if c.path not in parents]


def _profile(category: SeedCategory, whole_tree: list[SeedCategory]) -> Leaf:
    if category.leaf is not None:
        return category.leaf
    # A cut-off branch: take the first leaf below it in the whole tree.
    return next(c.leaf for c in whole_tree
                if c.leaf and c.path.startswith(category.path + " > "))


# Shoes and clothes come in sizes; about a third of what else comes in colours is sold
# in several of them, as are some sized products.
SIZES = {"Shoes": tuple(f"EU {n}" for n in range(38, 46)),
         "Clothing > Kids": ("4Y", "6Y", "8Y", "10Y", "12Y"),
         "Clothing": ("XS", "S", "M", "L", "XL")}
COLOUR_SHARE = 0.3
VARIANT_STOCK = (0, 1, 2, 3, 5, 8, 12, 20)
# What the largest clothes cost more, in minor units.
LARGE_SURCHARGE = 300


def _sizes(home: SeedCategory) -> tuple[str, ...]:
    return next((sizes for prefix, sizes in SIZES.items()
                 if home.path == prefix or home.path.startswith(prefix + " > ")), ())


def _variants(i: int, home: SeedCategory, leaf: Leaf, sku: str, price: int
              ) -> tuple[list[Option], list[NewVariant]]:
    """Product `i`'s options and variants; none for most products that are not sized."""
    rng = random.Random(f"shopstream-seed/variants/{i}")
    options: list[Option] = []
    sizes = _sizes(home)
    if sizes:
        options.append(Option(name="Size", values=list(sizes)))
    if leaf.coloured and rng.random() < COLOUR_SHARE:
        options.append(Option(name="Colour", values=rng.sample(COLOURS, rng.randint(2, 4))))
    combinations: list[dict[str, str]] = [{}]
    for option in options:
        combinations = [c | {option.name: value} for c in combinations
                        for value in option.values]
    variants = [NewVariant(
        sku="-".join([sku, *(v.replace(" ", "").upper() for v in c.values())]), options=c,
        price=(Money(amount=price + LARGE_SURCHARGE, currency="EUR")
               if c.get("Size") == "XL" else None),
        stock=rng.choice(VARIANT_STOCK)) for c in combinations] if options else []
    return options, variants


def product(i: int, homes: list[SeedCategory],
            whole_tree: list[SeedCategory]) -> tuple[UUID, Command]:
    """Product number `i` in one of `homes`, and the id of the command that creates it."""
    rng = random.Random(f"shopstream-seed/product/{i}")
    home = homes[rng.randrange(len(homes))]
    leaf = _profile(home, whole_tree)
    brand, noun, word = rng.choice(BRANDS), rng.choice(leaf.nouns), rng.choice(leaf.words)
    model = rng.choice(MODELS)
    name = " ".join(part for part in (brand, word, noun, model) if part)
    sku = f"SEED-{i:07d}"
    specs = {spec: rng.choice(values) for spec, values in leaf.specs.items()}
    spec_name, spec_value = rng.choice(list(specs.items()))
    colour = rng.choice(COLOURS)
    specs = {"Brand": brand, **specs} | ({"Colour": colour} if leaf.coloured else {})
    fields = {"name": name, "brand": brand, "use": rng.choice(USES), "word_lower": word.lower(),
              "noun_lower": noun.lower(), "spec_lower": f"{spec_name.lower()} of {spec_value}",
              "quality": rng.choice(QUALITIES), "colour_lower": colour.lower(),
              "years": rng.choice((2, 3, 5, 10))}
    middles = MIDDLES + (COLOURED_MIDDLES if leaf.coloured else ())
    description = " ".join(s.format(**fields) for s in (
        rng.choice(OPENINGS), *rng.sample(middles, 2), rng.choice(CLOSINGS)))
    low, high = leaf.price_eur
    price = rng.randint(low, high) * 100 - rng.choice((1, 1, 1, 5, 10, 100))
    stock = 0 if rng.random() < 0.08 else rng.choice((1, 2, 3, 5, 8, 12, 20, 35, 50, 120, 400))
    images = [Image(url=f"{IMAGE_HOST}/{sku.lower()}-{n}/800/800", alt=f"{name}, view {n}")
              for n in range(1, rng.randint(1, 4) + 1)]
    options, variants = _variants(i, home, leaf, sku, price)
    if any(option.name == "Colour" for option in options):
        specs.pop("Colour", None)  # the shopper picks it
    command = CreateProduct(
        product_id=uuid.uuid5(NAMESPACE, f"product/{i}"), sku=sku, name=name,
        slug=f"{slugify(name)}-{i}", description=description, category_id=home.category_id,
        price=Money(amount=price, currency="EUR"), images=images, specifications=specs,
        stock=sum(v.stock for v in variants) if variants else stock, options=options,
        variants=variants)
    return uuid.uuid5(NAMESPACE, f"command/product/{i}"), command


EU_MEMBERS = ("AT BE BG HR CY CZ DK EE FI FR DE GR IE IT LV LT LU MT NL PL PT RO SK SI ES "
              "SE HU").split()


def _method(code: str, name: str, price: int, free_over: int | None, days: tuple[int, int]
            ) -> ZoneMethod:
    return ZoneMethod(code=code, name=name, price=Money(amount=price),
                      free_over=Money(amount=free_over) if free_over is not None else None,
                      estimated_days=EstimatedDays(min=days[0], max=days[1]))


def shipping_zones() -> list[tuple[UUID, CreateShippingZone]]:
    """The zones `make up` seeds, with their command ids. The EU's standard delivery keeps
    the shop's former flat rule: 4.90, free from 50.00."""
    zones = (
        ("European Union", EU_MEMBERS, (
            _method("standard", "Standard delivery", 490, 5000, (2, 5)),
            _method("express", "Express delivery", 1290, None, (1, 2)))),
        ("United Kingdom", ["GB"], (
            _method("standard", "Standard delivery", 790, 7500, (3, 6)),
            _method("express", "Express delivery", 1690, None, (1, 3)))),
        ("United States", ["US"], (
            _method("standard", "Standard delivery", 1290, 10000, (5, 10)),
            _method("express", "Express delivery", 2490, None, (2, 4)))),
    )
    return [(uuid.uuid5(NAMESPACE, f"command/shipping-zone/{name}"),
             CreateShippingZone(zone_id=uuid.uuid5(NAMESPACE, f"shipping-zone/{name}"),
                                name=name, countries=list(countries), methods=list(methods)))
            for name, countries, methods in zones]


@dataclass(frozen=True)
class SeedResult:
    categories: int
    categories_sent: int
    products: int
    products_sent: int
    outcomes: Counter  # reply status (or "timeout") of what was sent
    seconds: float
    zones: int = 0
    zones_sent: int = 0

    def summary(self) -> str:
        sent = self.categories_sent + self.products_sent + self.zones_sent
        skipped = self.categories + self.products + self.zones - sent
        return (f"seed: {self.categories:,} categories, {self.products:,} products and "
                f"{self.zones} shipping zones: "
                f"{self.outcomes['accepted']:,} created, "
                f"{skipped + self.outcomes['duplicate']:,} already there, "
                f"{self.outcomes['rejected'] + self.outcomes['timeout']:,} failed, "
                f"in {self.seconds:.1f} s")


async def _existing(clients: Clients, table_name: str, ids: list[UUID]) -> set[str]:
    """Which of these ids the catalog (or, for the zones, the orders) view already shows."""
    projection = (OrdersProjection(clients.mysql, clients.keys)
                  if table_name == "shipping_zones" else CatalogProjection(clients.mysql))
    table = projection.tables[table_name]
    found: set[str] = set()
    async with clients.mysql.connect() as connection:
        for start in range(0, len(ids), 5000):
            chunk = [str(i) for i in ids[start:start + 5000]]
            rows = await connection.execute(select(table.c.id).where(table.c.id.in_(chunk)))
            found.update(r.id for r in rows)
    return found


# On a stack's very first start the command processors may still be joining their group
# while the seed begins; a command id is fixed, so sending it again is safe.
PATIENCE_S = 300.0


async def _send_all(bus: CommandBus, commands: Iterable[tuple[UUID, Command]], concurrency: int,
                    outcomes: Counter, progress: Callable[[int], None]) -> None:
    pending: Iterator[tuple[UUID, Command]] = iter(commands)

    async def worker() -> None:
        for command_id, command in pending:
            deadline = time.monotonic() + PATIENCE_S
            while True:
                try:
                    reply = await bus.send(command, actor=ACTOR, command_id=command_id)
                    outcomes[reply.status] += 1
                    break
                except CommandTimeout:
                    if time.monotonic() > deadline:
                        outcomes["timeout"] += 1
                        break
            progress(1)

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def seed_shipping(clients: Clients, bus: CommandBus, outcomes: Counter) -> int:
    """Create the seeded shipping zones the orders view does not show yet; how many were sent."""
    zones = shipping_zones()
    known = await _existing(clients, "shipping_zones", [zone.zone_id for _, zone in zones])
    missing = [(command_id, zone) for command_id, zone in zones if str(zone.zone_id) not in known]
    # One at a time: they are decided by one aggregate anyway.
    await _send_all(bus, missing, 1, outcomes, lambda done: None)
    return len(missing)


async def seed(clients: Clients, bus: CommandBus, products: int,
               category_limit: int | None = None,
               concurrency: int = 256,
               progress: Callable[[int, int], None] = lambda done, total: None) -> SeedResult:
    """Create the shipping zones, the demo catalog's first `category_limit` categories and
    `products` products."""
    started = time.monotonic()
    tree = categories(category_limit)
    homes = _with_products(tree)
    outcomes: Counter = Counter()
    known_categories = await _existing(clients, "categories", [c.category_id for c in tree])
    missing = [c for c in tree if str(c.category_id) not in known_categories]
    known_products = await _existing(
        clients, "products", [uuid.uuid5(NAMESPACE, f"product/{i}") for i in range(products)])
    wanted = [i for i in range(products)
              if str(uuid.uuid5(NAMESPACE, f"product/{i}")) not in known_products]
    total = len(missing) + len(wanted)
    done = 0

    def step(n: int) -> None:
        nonlocal done
        done += n
        progress(done, total)

    progress(0, total)
    zones_sent = await seed_shipping(clients, bus, outcomes)
    for depth in sorted({c.depth for c in missing}):  # parents first
        await _send_all(bus, (c.command() for c in missing if c.depth == depth),
                        concurrency, outcomes, step)
    whole_tree = categories()
    await _send_all(bus, (product(i, homes, whole_tree) for i in wanted), concurrency,
                    outcomes, step)
    return SeedResult(len(tree), len(missing), products, len(wanted), outcomes,
                      time.monotonic() - started, len(shipping_zones()), zones_sent)
