"""The word banks of the embedded data generator (``tools.builtin_data``): the facts, names, phrases and
small texts its templates combine, written for this project. Plain data only: the builders that turn
them into prompts and answers live in ``tools.builtin_data``. Facts about real things are kept to
well-established ones; people, towns and companies in passages are made up."""

from __future__ import annotations

from dataclasses import dataclass

NUMBER_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]


# Words a prompt may forbid. Checked as case-insensitive substrings, so each is only offered when the
# answer does not contain it anywhere (not even inside "every" for "very").
EXCLUDABLE = ["very", "really", "amazing", "basically", "literally", "awesome", "stuff", "definitely",
              "totally", "incredible", "super", "nice", "cheap", "perfect", "thing", "just", "actually"]


STOPWORDS = frozenset({  # common words too plain to ask for (only 5+ letter words are ever picked)
    "about", "above", "after", "again", "against", "their", "there", "these", "those", "which", "while",
    "would", "could", "should", "other", "every", "where", "being", "before", "below", "between", "during",
    "under", "until", "whose", "because", "through", "yours", "shall", "doing"
})


WORD_LIMITS = (20, 25, 30, 40, 50, 60, 70, 80, 100, 120, 150)


@dataclass(frozen=True)
class Animal:
    name: str
    plural: str
    cls: str  # mammal, bird, reptile, amphibian, fish, insect or mollusk
    habitat: str  # completes "They live in ..."
    diet: str  # completes "They eat ..."
    facts: tuple[str, ...]


ANIMALS = [
    Animal("elephant", "elephants", "mammal", "the savannas, grasslands and forests of Africa and Asia",
           "grasses, leaves, bark, roots and fruit",
           ("Elephants are the largest land animals alive today.",
            "An elephant's trunk has tens of thousands of muscles and works as a nose, a hand and a straw.",
            "Elephant herds are usually led by an older female called the matriarch.",
            "Elephants communicate with low rumbles that other elephants can sense from kilometres away.")),
    Animal("dolphin", "dolphins", "mammal", "oceans and seas around the world, and a few species live in rivers",
           "fish and squid",
           ("Dolphins are mammals, so they breathe air through a blowhole on top of their heads.",
            "Dolphins find food by echolocation: they make clicks and listen for the echoes.",
            "Dolphins live in social groups called pods and often hunt together.",
            "Bottlenose dolphins recognise each other by signature whistles.")),
    Animal("bat", "bats", "mammal", "caves, trees and buildings on every continent except Antarctica",
           "insects, fruit or flower nectar, depending on the species",
           ("Bats are the only mammals capable of true flight.",
            "Many bats find insects in the dark using echolocation.",
            "Fruit bats help plants by spreading seeds and pollinating flowers.",
            "A single small bat can eat hundreds of insects in one night.")),
    Animal("kangaroo", "kangaroos", "mammal", "the grasslands, open forests and deserts of Australia",
           "grasses and other plants",
           ("Kangaroos are marsupials: a newborn kangaroo, called a joey, grows in its mother's pouch.",
            "Kangaroos hop on their powerful back legs and use their tail for balance.",
            "A group of kangaroos is called a mob.",
            "Kangaroos can go a long time without drinking water.")),
    Animal("giraffe", "giraffes", "mammal", "the savannas and open woodlands of Africa",
           "leaves, especially from acacia trees",
           ("Giraffes are the tallest animals on land.",
            "A giraffe's neck has seven vertebrae, the same number as a human neck.",
            "Giraffes use their long, dark tongues to pull leaves from thorny branches.",
            "Each giraffe has its own pattern of patches, a little like a fingerprint.")),
    Animal("polar bear", "polar bears", "mammal", "the Arctic, on the sea ice and nearby coasts",
           "mainly seals, which they hunt from the sea ice",
           ("Polar bears have black skin under their thick fur, which helps them absorb heat.",
            "Polar bear fur looks white, but each hair is actually transparent.",
            "Polar bears are strong swimmers and can swim for hours.",
            "Melting sea ice makes it harder for polar bears to hunt.")),
    Animal("camel", "camels", "mammal", "the deserts and dry grasslands of North Africa, the Middle East and Central Asia",
           "grasses, leaves and thorny desert plants",
           ("A camel's hump stores fat, not water.",
            "Camels can go many days without drinking and then drink a large amount at once.",
            "Dromedary camels have one hump and Bactrian camels have two.",
            "Long eyelashes and closable nostrils protect camels from blowing sand.")),
    Animal("blue whale", "blue whales", "mammal", "oceans around the world",
           "tiny shrimp-like animals called krill",
           ("The blue whale is the largest animal known to have ever lived.",
            "Blue whales filter krill from the water through baleen plates instead of teeth.",
            "A blue whale's heart is about the size of a small car.",
            "Blue whale calls are among the loudest sounds made by any animal.")),
    Animal("lion", "lions", "mammal", "the grasslands and savannas of Africa, with a small population in India",
           "large animals such as zebras, antelope and buffalo",
           ("Lions are the only cats that live in groups, called prides.",
            "Female lions do most of the hunting, often working as a team.",
            "A lion's roar can be heard up to 8 kilometres away.",
            "A male lion's mane makes him look larger and helps protect his neck in fights.")),
    Animal("koala", "koalas", "mammal", "the eucalyptus forests of eastern and south-eastern Australia",
           "eucalyptus leaves",
           ("Koalas are marsupials, not bears.",
            "Koalas sleep around 18 to 20 hours a day.",
            "Koalas get most of the water they need from eucalyptus leaves.",
            "Koala fingerprints look remarkably similar to human fingerprints.")),
    Animal("penguin", "penguins", "bird", "the Southern Hemisphere, from Antarctica to the coasts of South America, Africa and Australia",
           "fish, krill and squid",
           ("Penguins are birds that cannot fly, but their wings work as strong flippers underwater.",
            "Emperor penguin fathers keep their egg warm on their feet through the Antarctic winter.",
            "A layer of fat and tightly packed feathers keeps penguins warm in icy water.",
            "Many penguins live in large, noisy colonies.")),
    Animal("owl", "owls", "bird", "forests, grasslands, deserts and even cities on every continent except Antarctica",
           "mice, voles, insects, small birds and other small animals",
           ("Most owls hunt at night.",
            "Owls can turn their heads about 270 degrees.",
            "Special soft-edged feathers let owls fly almost silently.",
            "An owl's large eyes are fixed in place, so it turns its whole head to look around.")),
    Animal("hummingbird", "hummingbirds", "bird", "the Americas, from Alaska to the tip of South America",
           "flower nectar and tiny insects",
           ("Hummingbirds are the smallest birds in the world; the bee hummingbird is only about 5 to 6 centimetres long.",
            "Hummingbirds can hover in place and even fly backward.",
            "A hummingbird's wings can beat dozens of times per second.",
            "Hummingbirds burn energy so fast that they must feed many times a day.")),
    Animal("ostrich", "ostriches", "bird", "the savannas and deserts of Africa",
           "plants, seeds and sometimes insects and small animals",
           ("The ostrich is the largest living bird.",
            "Ostriches cannot fly, but they can run at about 70 kilometres per hour.",
            "Ostriches lay the largest eggs of any living bird.",
            "The idea that ostriches bury their heads in the sand is a myth.")),
    Animal("bald eagle", "bald eagles", "bird", "North America, near lakes, rivers and coasts",
           "mostly fish, plus birds and small mammals",
           ("The bald eagle is the national bird of the United States.",
            "Bald eagles build some of the largest nests of any bird and add to them year after year.",
            "A bald eagle is not actually bald: its head is covered in white feathers.",
            "Sharp eyesight lets bald eagles spot fish from high above the water.")),
    Animal("parrot", "parrots", "bird", "tropical and subtropical regions, especially in South America, Africa and Australia",
           "seeds, nuts, fruit, flowers and buds",
           ("Many parrots can copy sounds, including human words.",
            "Parrots have two toes pointing forward and two pointing back, which helps them grip branches and food.",
            "Parrots are among the most intelligent birds.",
            "Some large parrots can live for more than 50 years.")),
    Animal("crocodile", "crocodiles", "reptile", "rivers, lakes, swamps and coastal waters in tropical parts of Africa, Asia, the Americas and Australia",
           "fish, birds and mammals",
           ("Crocodiles have one of the strongest bites of any animal.",
            "Crocodiles lay their eggs in nests on land.",
            "Crocodiles warm up by lying in the sun and cool off in water or shade.",
            "A crocodile's eyes and nostrils sit on top of its head, so it can see and breathe while almost fully underwater.")),
    Animal("tortoise", "tortoises", "reptile", "grasslands, deserts, scrublands and forests on several continents",
           "grasses, leaves, flowers and fruit",
           ("Tortoises live on land, unlike many turtles that spend most of their lives in water.",
            "Some giant tortoises live for more than 100 years.",
            "A tortoise's shell is part of its skeleton and grows with it.",
            "The Galápagos Islands are famous for their giant tortoises.")),
    Animal("snake", "snakes", "reptile", "almost every kind of habitat on every continent except Antarctica",
           "other animals, such as rodents, birds, eggs, fish and insects",
           ("Snakes smell by flicking their tongues, which carry scent particles to a special organ in the mouth.",
            "Snakes swallow their prey whole.",
            "Snakes shed their skin as they grow.",
            "Snakes have no eyelids; a clear scale protects each eye.")),
    Animal("chameleon", "chameleons", "reptile", "the forests and scrublands of Africa, Madagascar and parts of southern Europe and Asia",
           "insects such as crickets and grasshoppers",
           ("Chameleons change color to communicate and to control their body temperature.",
            "A chameleon's eyes can move independently, so it can look in two directions at once.",
            "Chameleons catch insects with a long, sticky tongue that shoots out in a fraction of a second.",
            "Many of the world's chameleon species live only in Madagascar.")),
    Animal("frog", "frogs", "amphibian", "ponds, wetlands, forests and other damp places on every continent except Antarctica",
           "insects, worms, spiders and other small animals",
           ("Most frogs begin life as tadpoles that live in water and breathe with gills.",
            "Frogs can absorb water through their skin, so they rarely need to drink.",
            "Many frogs catch insects with a quick, sticky tongue.",
            "A loud frog call is usually a male trying to attract a mate.")),
    Animal("salamander", "salamanders", "amphibian", "damp forests, streams and ponds, mostly in the Northern Hemisphere",
           "insects, worms, slugs and other small invertebrates",
           ("Salamanders look like lizards, but they are amphibians with moist skin.",
            "Many salamanders can regrow a lost tail and even a lost leg.",
            "Some salamanders have no lungs at all and breathe through their skin.",
            "Salamanders usually hide under logs and stones during the day.")),
    Animal("axolotl", "axolotls", "amphibian", "lakes and canals near Mexico City",
           "worms, insect larvae, small fish and crustaceans",
           ("Axolotls keep their feathery gills and other young features for their whole lives.",
            "An axolotl can regrow lost legs and even parts of its heart and brain.",
            "Wild axolotls are critically endangered because their habitat has shrunk and become polluted.",
            "Axolotls spend their whole lives in water.")),
    Animal("shark", "sharks", "fish", "oceans around the world, from shallow coasts to the deep sea",
           "fish, seals, squid or plankton, depending on the species",
           ("A shark's skeleton is made of cartilage, not bone.",
            "Sharks lose and replace teeth throughout their lives.",
            "Sharks have an excellent sense of smell.",
            "The whale shark, the largest fish in the world, eats tiny plankton.")),
    Animal("salmon", "salmon", "fish", "the North Atlantic and North Pacific Oceans and the rivers that flow into them",
           "insects, small fish and crustaceans",
           ("Salmon hatch in fresh water, swim out to sea, and return to their home river to spawn.",
            "Salmon can leap up small waterfalls on their way upstream.",
            "Salmon find their home river largely by smell.",
            "Bears, eagles and people all depend on salmon runs for food.")),
    Animal("seahorse", "seahorses", "fish", "shallow coastal waters, among seagrass, coral reefs and mangroves",
           "tiny crustaceans such as brine shrimp",
           ("In seahorses, the male carries the eggs in a pouch and gives birth.",
            "Seahorses swim upright and are slow swimmers.",
            "Seahorses hold on to seagrass with their curled tails.",
            "A seahorse has no teeth and sucks up food through its snout.")),
    Animal("clownfish", "clownfish", "fish", "the coral reefs of the Indian and Pacific Oceans",
           "algae, plankton and small crustaceans",
           ("Clownfish live among the stinging tentacles of sea anemones.",
            "A coat of mucus protects clownfish from the anemone's sting.",
            "Clownfish are all born male, and the largest fish in a group can become female.",
            "Clownfish and anemones help each other: the fish cleans and defends the anemone.")),
    Animal("honeybee", "honeybees", "insect", "hives in hollow trees and beekeepers' boxes on every continent except Antarctica",
           "flower nectar and pollen",
           ("A honeybee colony has one queen, thousands of female workers and some male drones.",
            "Honeybees turn flower nectar into honey to feed the colony through winter.",
            "Worker bees share the location of flowers with a 'waggle dance'.",
            "Honeybees pollinate many of the crops people eat.")),
    Animal("ant", "ants", "insect", "almost every land habitat on Earth except the coldest places",
           "seeds, nectar, fungi, insects and food scraps, depending on the species",
           ("Ants live in colonies that can hold millions of members.",
            "Ants communicate mainly with chemical signals called pheromones.",
            "Many ants can carry objects several times heavier than their own bodies.",
            "Leafcutter ants grow fungus gardens for food.")),
    Animal("butterfly", "butterflies", "insect", "gardens, meadows, forests and mountains on every continent except Antarctica",
           "flower nectar, which they sip through a long tube called a proboscis",
           ("A butterfly goes through four stages: egg, caterpillar, chrysalis and adult.",
            "Butterflies taste with sensors on their feet.",
            "Monarch butterflies migrate thousands of kilometres between Canada, the United States and Mexico.",
            "Butterfly wings are covered in tiny scales that create their colors.")),
    Animal("octopus", "octopuses", "mollusk", "oceans around the world, from coral reefs to the deep sea",
           "crabs, shrimp, clams and small fish",
           ("An octopus has eight arms, three hearts and blue blood.",
            "Octopuses can change the color and texture of their skin in a moment.",
            "Octopuses are clever and can solve puzzles and open jars.",
            "Most of an octopus's neurons are in its arms.")),
]


VERTEBRATE_CLASSES = ("mammal", "bird", "reptile", "amphibian", "fish")


CLASS_REASON = {
    "mammal": "it breathes air and feeds its young with milk",
    "bird": "it has feathers, a beak and lays eggs",
    "reptile": "it has dry, scaly skin and is cold-blooded",
    "amphibian": "it has moist skin and begins life in water",
    "fish": "it lives in water, has fins and breathes through gills",
}


@dataclass(frozen=True)
class Country:
    name: str
    capital: str
    continent: str | None  # None where the continent question is ambiguous


COUNTRIES = [
    Country("France", "Paris", "Europe"), Country("Japan", "Tokyo", "Asia"), Country("Egypt", "Cairo", "Africa"),
    Country("Kenya", "Nairobi", "Africa"), Country("Canada", "Ottawa", "North America"),
    Country("Australia", "Canberra", None), Country("Brazil", "Brasília", "South America"),
    Country("Argentina", "Buenos Aires", "South America"), Country("Italy", "Rome", "Europe"),
    Country("Spain", "Madrid", "Europe"), Country("Germany", "Berlin", "Europe"), Country("India", "New Delhi", "Asia"),
    Country("China", "Beijing", "Asia"), Country("Mexico", "Mexico City", "North America"),
    Country("Peru", "Lima", "South America"), Country("Norway", "Oslo", "Europe"), Country("Sweden", "Stockholm", "Europe"),
    Country("Portugal", "Lisbon", "Europe"), Country("Greece", "Athens", "Europe"), Country("South Korea", "Seoul", "Asia"),
    Country("Thailand", "Bangkok", "Asia"), Country("Vietnam", "Hanoi", "Asia"), Country("Nigeria", "Abuja", "Africa"),
    Country("Morocco", "Rabat", "Africa"), Country("Poland", "Warsaw", "Europe"), Country("Ireland", "Dublin", "Europe"),
    Country("New Zealand", "Wellington", None), Country("Chile", "Santiago", "South America"),
    Country("Colombia", "Bogotá", "South America"), Country("Austria", "Vienna", "Europe"),
    Country("Hungary", "Budapest", "Europe"), Country("Finland", "Helsinki", "Europe"),
    Country("Denmark", "Copenhagen", "Europe"), Country("Ghana", "Accra", "Africa"),
    Country("Ethiopia", "Addis Ababa", "Africa"), Country("Cuba", "Havana", "North America"),
    Country("Iceland", "Reykjavík", "Europe"), Country("Turkey", "Ankara", None),
]


@dataclass(frozen=True)
class City:
    name: str
    country: str
    desc: str  # completes "{name} is ..."
    highlights: tuple[str, ...]
    food: str
    transport: str


CITIES = [
    City("Paris", "France", "the French capital, famous for art, fashion and cafés",
         ("the Eiffel Tower", "the Louvre museum", "the banks of the Seine", "the hilltop neighbourhood of Montmartre"),
         "fresh croissants and a classic crêpe",
         "The Métro is fast and reaches almost every neighbourhood, and many central sights are within walking distance."),
    City("Tokyo", "Japan", "Japan's huge, energetic capital, where neon streets sit beside quiet shrines",
         ("Senso-ji temple in Asakusa", "the busy Shibuya Crossing", "the Meiji Shrine", "the Tokyo Skytree"),
         "sushi, ramen and grilled yakitori",
         "Trains and subways are clean and punctual, and a rechargeable IC card such as Suica makes them easy to use."),
    City("Rome", "Italy", "the Italian capital, where ancient ruins stand among busy piazzas",
         ("the Colosseum", "St. Peter's Basilica", "the Trevi Fountain", "the Pantheon"),
         "fresh pasta such as cacio e pepe, followed by gelato",
         "The historic centre is best explored on foot, with buses and a metro for longer trips."),
    City("Cairo", "Egypt", "Egypt's sprawling capital on the Nile",
         ("the Pyramids of Giza", "the Egyptian Museum", "the Nile waterfront", "the Khan el-Khalili bazaar"),
         "koshari, a hearty dish of rice, lentils, pasta and spiced tomato sauce",
         "The metro is cheap for central trips, and ride-hailing apps are a handy way to reach Giza."),
    City("New York City", "the United States", "a fast-paced city of skyscrapers, theatres and neighbourhoods from around the world",
         ("Central Park", "the Statue of Liberty", "the theatres of Broadway", "the Metropolitan Museum of Art"),
         "a fresh bagel and a slice of New York pizza",
         "The subway runs 24 hours a day and is usually the quickest way across the city."),
    City("London", "the United Kingdom", "the UK's capital, rich in history, museums and parks",
         ("the British Museum", "the Tower of London", "the South Bank of the Thames", "the Houses of Parliament"),
         "fish and chips or a Sunday roast",
         "The Underground, known as the Tube, covers most of the city, and contactless bank cards work as tickets."),
    City("Barcelona", "Spain", "a Mediterranean city known for Gaudí's architecture and its beaches",
         ("the Sagrada Família", "Park Güell", "the Gothic Quarter", "the beach at Barceloneta"),
         "tapas and a pan of seafood paella",
         "The metro is simple to use, and the centre is easy to explore on foot."),
    City("Istanbul", "Turkey", "a city that spans two continents, Europe and Asia",
         ("Hagia Sophia", "the Blue Mosque", "the Grand Bazaar", "the shores of the Bosphorus"),
         "a sesame-covered simit with a glass of Turkish tea",
         "Trams, ferries and the metro connect the main areas, and one Istanbulkart card works on all of them."),
    City("Kyoto", "Japan", "Japan's former imperial capital, home to many temples and gardens",
         ("Fushimi Inari Shrine", "the golden temple of Kinkaku-ji", "the Arashiyama bamboo grove", "the historic Gion district"),
         "a traditional kaiseki meal or sweets made with matcha",
         "City buses reach most temples, and renting a bicycle is a pleasant way to get around."),
    City("Sydney", "Australia", "Australia's largest city, built around a sparkling harbour",
         ("the Sydney Opera House", "the Harbour Bridge", "Bondi Beach", "the Royal Botanic Garden"),
         "fresh seafood by the harbour",
         "Trains, buses and ferries all accept contactless payment, and a harbour ferry is a scenic way to travel."),
    City("Rio de Janeiro", "Brazil", "a Brazilian city of beaches and mountains, famous for its Carnival",
         ("the Christ the Redeemer statue", "Sugarloaf Mountain", "Copacabana Beach", "the colourful Selarón Steps"),
         "feijoada, a rich black bean stew",
         "The metro links the beaches with the centre, and taxis or ride-hailing apps are useful at night."),
    City("Cape Town", "South Africa", "a coastal city beneath the flat top of Table Mountain",
         ("Table Mountain", "Robben Island", "the penguin colony at Boulders Beach", "the Cape of Good Hope"),
         "bobotie, a spiced baked mince dish",
         "Ride-hailing apps and the MyCiTi buses are the easiest options, and a car helps for day trips."),
    City("Marrakech", "Morocco", "a Moroccan city of lively markets, gardens and palaces",
         ("Jemaa el-Fnaa square", "the souks of the medina", "the Majorelle Garden", "the Bahia Palace"),
         "a slow-cooked tagine with sweet mint tea",
         "The medina is best explored on foot, and small taxis are cheap for longer trips if you agree on the fare first."),
    City("Amsterdam", "the Netherlands", "the Dutch capital, known for its canals, museums and bicycles",
         ("the canal ring", "the Rijksmuseum", "the Anne Frank House", "the Van Gogh Museum"),
         "warm stroopwafels and Dutch apple pie",
         "Cycling is the local way to travel, and trams cover the centre."),
    City("Mexico City", "Mexico", "Mexico's vast capital, full of history, art and food",
         ("the Zócalo", "the Frida Kahlo Museum", "the pyramids of Teotihuacan", "Chapultepec Park"),
         "tacos al pastor from a street stand",
         "The metro is cheap and extensive, and ride-hailing apps are convenient."),
    City("Bangkok", "Thailand", "Thailand's capital, with golden temples and lively street life",
         ("the Grand Palace", "Wat Arun", "the Chatuchak Weekend Market", "the street food stalls of Chinatown"),
         "pad thai and mango sticky rice",
         "The BTS Skytrain and the MRT avoid the traffic, and river boats are great for sightseeing."),
    City("Lisbon", "Portugal", "Portugal's hilly capital on the Tagus River",
         ("the Belém Tower", "the Jerónimos Monastery", "the Alfama district", "São Jorge Castle"),
         "pastéis de nata, creamy custard tarts",
         "Trams, the metro and comfortable shoes all help with the steep hills."),
    City("Prague", "the Czech Republic", "the Czech capital, with a beautifully preserved old town",
         ("Charles Bridge", "Prague Castle", "the Old Town Square", "Petřín hill"),
         "goulash with bread dumplings",
         "Trams and the metro are efficient, and the old centre is compact enough to walk."),
    City("Edinburgh", "the United Kingdom", "Scotland's capital, with a castle on an ancient volcanic rock",
         ("Edinburgh Castle", "the Royal Mile", "Arthur's Seat", "the Royal Botanic Garden"),
         "a full Scottish breakfast",
         "The centre is walkable, and buses and trams cover the rest."),
    City("Vancouver", "Canada", "a Canadian city between the mountains and the Pacific Ocean",
         ("Stanley Park", "Granville Island Public Market", "the Capilano Suspension Bridge", "the North Shore mountains"),
         "fresh Pacific salmon",
         "The SkyTrain, buses and small harbour ferries make it easy to get around without a car."),
]


@dataclass(frozen=True)
class Concept:
    name: str  # "photosynthesis", "a vaccine"
    definition: str  # a full sentence
    example: str  # a full sentence
    simple: str  # for a child, full sentences


CONCEPTS = [
    Concept("photosynthesis",
            "Photosynthesis is the process plants, algae and some bacteria use to turn light energy, water and carbon dioxide into sugar, releasing oxygen as a by-product.",
            "For example, a leaf in sunlight takes in carbon dioxide through tiny pores and gives off oxygen while it makes food for the plant.",
            "Plants make their own food using sunlight. They drink water through their roots, breathe in a gas from the air, and use the sun's energy to turn them into sugar. While they do it, they give off the oxygen we breathe."),
    Concept("gravity",
            "Gravity is the force of attraction between objects that have mass; the more massive and the closer they are, the stronger the pull.",
            "For example, gravity makes a dropped apple fall to the ground and keeps the Moon in orbit around Earth.",
            "Gravity is an invisible pull. Earth pulls everything toward it, which is why a ball comes back down when you throw it up, and why we don't float away."),
    Concept("evaporation",
            "Evaporation is the change of a liquid into a gas at its surface, usually below its boiling point.",
            "For example, a puddle slowly disappears on a warm day as its water evaporates into the air.",
            "When water gets warm, tiny bits of it float up into the air as an invisible gas. That's why wet clothes dry on a sunny day."),
    Concept("the water cycle",
            "The water cycle is the continuous movement of water between the land, the oceans and the air through evaporation, condensation, precipitation and collection.",
            "For example, water evaporates from the sea, forms clouds, falls as rain on a mountain and flows back to the sea in a river.",
            "Water goes around and around. The sun warms it so it rises into the sky, it makes clouds, it falls as rain or snow, and then it runs back into rivers and seas to start again."),
    Concept("inflation",
            "Inflation is a general rise in prices over time, which means the same amount of money buys less than before.",
            "For example, if inflation is 3 percent a year, a basket of groceries that costs 100 dollars today would cost about 103 dollars next year.",
            "Inflation means things slowly get more expensive. A treat that costs one coin today might cost a little more than one coin in a few years."),
    Concept("democracy",
            "Democracy is a system of government in which citizens hold power, usually by voting for leaders and laws in free and fair elections.",
            "For example, in many countries adults vote every few years to choose who will represent them in parliament.",
            "In a democracy, people get to choose their leaders by voting. Everyone's vote counts the same, and the choice with the most votes wins."),
    Concept("an ecosystem",
            "An ecosystem is a community of living things, such as plants, animals and microbes, interacting with each other and with their physical environment.",
            "For example, a pond is an ecosystem where fish, frogs, insects, plants and bacteria all depend on the water, sunlight and each other.",
            "An ecosystem is a place where plants and animals live together and need each other, like a forest or a pond. If one part changes, the others feel it too."),
    Concept("DNA",
            "DNA is the molecule that carries the genetic instructions living things use to grow, work and reproduce.",
            "For example, the DNA you inherited from your parents helps decide your eye color and blood type.",
            "DNA is like an instruction book inside almost every cell of your body. It tells your body how to grow and is the reason you look a bit like your family."),
    Concept("a vaccine",
            "A vaccine is a medicine that trains the immune system to recognise a germ, so the body can fight it off quickly if it meets the real thing later.",
            "For example, the measles vaccine protects people from catching measles.",
            "A vaccine teaches your body how to beat a germ before you ever meet it. It is like a practice drill, so your body is ready if the real germ shows up."),
    Concept("friction",
            "Friction is the force that resists motion when two surfaces rub against each other.",
            "For example, friction between a bicycle's brake pads and its wheels slows the bike down.",
            "Friction is what makes things slow down when they rub together. It's why a ball rolling on grass stops sooner than one rolling on a smooth floor."),
    Concept("erosion",
            "Erosion is the wearing away and moving of rock and soil by water, wind or ice.",
            "For example, over millions of years the Colorado River carved the Grand Canyon through erosion.",
            "Erosion is when water, wind or ice slowly wears rocks and soil away and carries them somewhere else. Given enough time, a river can even cut a deep canyon."),
    Concept("a budget",
            "A budget is a plan for how you will spend and save the money you expect to receive over a period of time.",
            "For example, a monthly budget might set aside money for rent, food, transport and savings before anything else.",
            "A budget is a plan for your money. You decide ahead of time how much to spend on things you need, how much on fun, and how much to save."),
    Concept("compound interest",
            "Compound interest is interest calculated on both the original amount and the interest already added, so savings grow faster over time.",
            "For example, 1,000 dollars earning 5 percent a year grows to 1,050 dollars after one year and to about 1,102 dollars after two.",
            "Compound interest means your savings earn extra money, and then that extra money earns more money too. It grows like a snowball rolling downhill."),
    Concept("an algorithm",
            "An algorithm is a precise, step-by-step set of instructions for solving a problem or completing a task.",
            "For example, a recipe for baking bread is an algorithm, and so is the method a map app uses to find the shortest route.",
            "An algorithm is a list of steps that you follow in order to get something done, like the steps for brushing your teeth or building a toy."),
    Concept("renewable energy",
            "Renewable energy comes from sources that are naturally replenished, such as sunlight, wind, flowing water and heat from inside the Earth.",
            "For example, solar panels on a roof turn sunlight into electricity for a home.",
            "Renewable energy comes from things that don't run out, like sunshine and wind. We can use them again and again to make electricity."),
    Concept("an atom",
            "An atom is the smallest unit of a chemical element, made of a nucleus of protons and neutrons surrounded by electrons.",
            "For example, a water molecule is made of two hydrogen atoms and one oxygen atom.",
            "Atoms are tiny building blocks that everything is made of. They are so small that hundreds of thousands of them could sit side by side across the width of one hair."),
    Concept("a food chain",
            "A food chain shows how energy passes from one living thing to another as each one is eaten by the next.",
            "For example, grass is eaten by a rabbit, and the rabbit is eaten by a fox.",
            "A food chain shows who eats whom. Plants get energy from the sun, animals eat the plants, and other animals eat those animals."),
    Concept("the greenhouse effect",
            "The greenhouse effect is the warming of Earth's surface by gases in the atmosphere, such as carbon dioxide and water vapour, that trap heat.",
            "For example, burning coal, oil and gas adds carbon dioxide to the air, which strengthens the greenhouse effect and warms the planet.",
            "Some gases in the air act like a blanket around Earth. They keep in heat, which keeps us warm, but too much of them makes the planet too hot."),
    Concept("a metaphor",
            "A metaphor is a figure of speech that describes something by saying it is something else, to suggest a likeness.",
            "For example, 'the classroom was a zoo' is a metaphor for a noisy, chaotic room.",
            "A metaphor is when you say one thing is another thing to paint a picture with words, like saying 'my brother is a night owl' because he stays up late."),
    Concept("supply and demand",
            "Supply and demand is the idea that prices depend on how much of something is available and how much people want it.",
            "For example, when a frost destroys many orange trees, oranges become scarce and their price goes up.",
            "If lots of people want something and there isn't much of it, it costs more. If there is plenty of it and few people want it, it costs less."),
    Concept("a prime number",
            "A prime number is a whole number greater than 1 whose only divisors are 1 and itself.",
            "For example, 2, 3, 5, 7 and 11 are prime numbers, but 9 is not because it can be divided by 3.",
            "A prime number can only be shared out equally in groups of one or all together. Seven sweets can't be split into equal groups of two or three, so 7 is prime."),
    Concept("buoyancy",
            "Buoyancy is the upward force a fluid exerts on an object placed in it, equal to the weight of the fluid the object pushes aside.",
            "For example, a steel ship floats because its hollow shape lets it push aside its own weight in water while most of the ship stays above the surface.",
            "Buoyancy is the push water gives to things that are in it. It's why a beach ball pops up when you try to hold it underwater."),
    Concept("machine learning",
            "Machine learning is a branch of computer science in which programs learn patterns from data instead of following only hand-written rules.",
            "For example, an email spam filter learns to spot junk mail by studying thousands of messages that people marked as spam.",
            "Machine learning is a way of teaching computers by showing them lots of examples, so they can learn to spot patterns by themselves."),
    Concept("a solar eclipse",
            "A solar eclipse happens when the Moon passes between the Sun and Earth and blocks all or part of the Sun's light.",
            "For example, during a total solar eclipse the sky goes dark for a few minutes in the middle of the day.",
            "A solar eclipse happens when the Moon moves in front of the Sun and hides it for a little while. Never look straight at it without special glasses."),
    Concept("recycling",
            "Recycling is the process of collecting used materials such as paper, glass, metal and some plastics and turning them into new products.",
            "For example, aluminium cans can be melted down and made into new cans again and again.",
            "Recycling means turning old things into new things. An empty can you put in the recycling bin can come back as a brand-new can."),
]


@dataclass(frozen=True)
class QA:
    question: str
    answer: str
    exact: str | None = None  # the short answer, for exact_answer


GENERAL_QA = [
    QA("Why is the sky blue?",
       "Sunlight contains all colors of light. As it passes through the atmosphere, air molecules scatter short blue wavelengths much more than longer red ones, so blue light reaches our eyes from every direction. This is called Rayleigh scattering."),
    QA("Why do we have seasons?",
       "Earth's axis is tilted by about 23.5 degrees. As Earth orbits the Sun, each hemisphere takes turns leaning toward it, which brings more direct sunlight and longer days in summer and less of both in winter. The seasons are not caused by changes in Earth's distance from the Sun."),
    QA("How many planets are in our solar system?",
       "There are eight planets: Mercury, Venus, Earth, Mars, Jupiter, Saturn, Uranus and Neptune. Pluto was reclassified as a dwarf planet in 2006.", "eight"),
    QA("What is the largest planet in our solar system?",
       "Jupiter is the largest planet in our solar system. It is a gas giant more than 11 times wider than Earth.", "Jupiter"),
    QA("What is the boiling point of water at sea level?",
       "At sea level, water boils at 100 degrees Celsius, which is 212 degrees Fahrenheit. At higher altitudes it boils at a lower temperature because the air pressure is lower.", "100"),
    QA("How many bones are in the adult human body?",
       "An adult human skeleton has 206 bones. Babies are born with more, but some of them fuse together as they grow.", "206"),
    QA("What causes ocean tides?",
       "Tides are caused mainly by the Moon's gravity pulling on Earth's oceans, with a smaller pull from the Sun. As Earth rotates, most coasts pass through two high tides and two low tides each day."),
    QA("How fast does light travel?",
       "Light travels at about 300,000 kilometres per second in a vacuum (299,792 km/s to be precise). At that speed, sunlight takes about eight minutes to reach Earth."),
    QA("Who wrote Romeo and Juliet?",
       "William Shakespeare wrote Romeo and Juliet in the mid-1590s. It is a tragedy about two young lovers from feuding families in Verona.", "Shakespeare"),
    QA("What is the chemical symbol for gold?",
       "The chemical symbol for gold is Au, which comes from the Latin word aurum.", "Au"),
    QA("What is the tallest mountain on Earth?",
       "Mount Everest, on the border between Nepal and China, is the tallest mountain above sea level, at about 8,849 metres.", "Everest"),
    QA("What is the longest river in the world?",
       "The Nile in Africa is usually named the longest river, at about 6,650 kilometres. Some researchers argue that the Amazon is slightly longer, depending on where its source is measured from."),
    QA("How many continents are there?",
       "By the most common count there are seven continents: Africa, Antarctica, Asia, Australia (or Oceania), Europe, North America and South America. Some countries teach a different count by combining some of them.", "seven"),
    QA("Why do leaves change color in autumn?",
       "As days get shorter, trees stop making chlorophyll, the green pigment used for photosynthesis. As the green fades, yellow and orange pigments that were there all along show through, and some trees also make red pigments."),
    QA("How does a rainbow form?",
       "A rainbow forms when sunlight enters raindrops, bends, reflects off the back of each drop and bends again on the way out. Each color bends by a slightly different amount, so white light spreads into a band of colors."),
    QA("What is the difference between weather and climate?",
       "Weather is the state of the atmosphere at a particular time and place, such as a rainy afternoon. Climate is the average pattern of weather in a region over many years, such as hot, dry summers."),
    QA("Why do we need sleep?",
       "Sleep lets the body and brain recover. During sleep the body repairs tissues, the brain stores memories and clears waste, and hormones that control growth and appetite are balanced. Most adults need seven to nine hours a night."),
    QA("At what temperature does water freeze in Fahrenheit?",
       "Water freezes at 32 degrees Fahrenheit, which is 0 degrees Celsius.", "32"),
    QA("How many minutes are in a day?",
       "There are 1,440 minutes in a day, because 24 hours times 60 minutes equals 1,440.", "1440"),
    QA("Who painted the Mona Lisa?",
       "Leonardo da Vinci painted the Mona Lisa in the early 1500s. It hangs in the Louvre in Paris.", "da Vinci"),
    QA("What is the smallest prime number?",
       "The smallest prime number is 2. It is also the only even prime number.", "2"),
    QA("What gas do plants take in from the air to make food?",
       "Plants take in carbon dioxide from the air. During photosynthesis they combine it with water, using energy from sunlight, to make sugar and release oxygen.", "carbon dioxide"),
    QA("How far away is the Moon?",
       "The Moon is about 384,400 kilometres from Earth on average. Its distance changes slightly during its orbit because the orbit is an ellipse."),
    QA("What is the hardest natural substance?",
       "Diamond is the hardest naturally occurring substance. It is made of carbon atoms bonded in a strong crystal structure.", "diamond"),
    QA("Why is the ocean salty?",
       "Rain slowly dissolves minerals from rocks, and rivers carry them to the sea. When seawater evaporates, the salts stay behind, so over millions of years they have built up in the oceans."),
    QA("What is the largest ocean on Earth?",
       "The Pacific Ocean is the largest ocean. It covers about a third of Earth's surface.", "Pacific"),
    QA("How long does it take Earth to orbit the Sun?",
       "Earth takes about 365.25 days to orbit the Sun. The extra quarter day is why we add a leap day to the calendar every four years.", "365.25"),
    QA("What language is mainly spoken in Brazil?",
       "The main language of Brazil is Portuguese, a legacy of its history as a Portuguese colony.", "Portuguese"),
    QA("How many strings does a standard guitar have?",
       "A standard guitar has six strings, usually tuned E, A, D, G, B and E from lowest to highest.", "six"),
    QA("What is the largest desert in the world?",
       "The largest desert is Antarctica, because deserts are defined by how little precipitation they get, not by heat. The largest hot desert is the Sahara in North Africa."),
    QA("How many sides does a hexagon have?",
       "A hexagon has six sides and six angles. Honeycomb cells are a well-known example of hexagons in nature.", "six"),
    QA("Why do cats purr?",
       "Cats often purr when they are relaxed and content, but they also purr when stressed, hurt or giving birth, which suggests purring helps them calm down. The sound comes from rapid movements of muscles in the larynx."),
    QA("Which vitamin does the skin make in sunlight?",
       "The skin makes vitamin D when it is exposed to ultraviolet light from the sun. Vitamin D helps the body absorb calcium for strong bones.", "vitamin D"),
    QA("What is the difference between a virus and a bacterium?",
       "Bacteria are single-celled living organisms that can reproduce on their own, and many are harmless or helpful. Viruses are much smaller and can only multiply inside the cells of another organism. Antibiotics work against bacteria but not against viruses."),
    QA("Is a tomato a fruit or a vegetable?",
       "Botanically, a tomato is a fruit because it grows from a flower and contains seeds. In cooking, it is usually treated as a vegetable because it is savory rather than sweet."),
    QA("How many hours of sleep does a teenager need?",
       "Most teenagers need about 8 to 10 hours of sleep a night. Regular sleep helps with concentration, mood and growth."),
    QA("What is the main ingredient in guacamole?",
       "The main ingredient in guacamole is avocado, mashed and usually mixed with lime juice, salt, onion and cilantro.", "avocado"),
    QA("How many days are in a leap year?",
       "A leap year has 366 days instead of 365. The extra day is February 29.", "366"),
    QA("What is the closest star to Earth?",
       "The closest star to Earth is the Sun. The next closest is Proxima Centauri, about 4.2 light-years away.", "Sun"),
    QA("Why does ice float on water?",
       "Ice floats because it is less dense than liquid water. When water freezes, its molecules arrange into an open crystal pattern that takes up more space."),
]


@dataclass(frozen=True)
class Hobby:
    name: str  # an activity that fits "start {name}" and "{name} is ..."
    tips: tuple[str, ...]
    gear: tuple[str, ...]
    benefit: str


HOBBIES = [
    Hobby("gardening",
          ("Start small with a few pots or one raised bed.", "Choose plants that suit the amount of sunlight you have.",
           "Water deeply and less often so roots grow strong.", "Mix compost into the soil to feed your plants.",
           "Begin with easy crops such as herbs, lettuce or radishes.", "Keep a notebook of what you planted and when."),
          ("a pair of gloves", "a hand trowel", "a watering can", "pots or a raised bed", "good compost"),
          "Gardening gets you outside, keeps you moving and rewards you with flowers or fresh food."),
    Hobby("running",
          ("Begin with run-walk intervals, such as one minute of running and two minutes of walking.",
           "Get comfortable running shoes that fit well.", "Increase your weekly distance gradually, by about 10 percent at most.",
           "Run at a pace where you can still talk.", "Take rest days so your body can recover.",
           "Warm up with a few minutes of brisk walking."),
          ("running shoes that fit well", "moisture-wicking socks", "breathable clothes", "a water bottle", "a watch or phone app to track time"),
          "Running strengthens your heart, lifts your mood and needs almost no equipment."),
    Hobby("photography",
          ("Learn the rule of thirds and place your subject off-centre.", "Shoot in soft light, such as early morning or late afternoon.",
           "Keep the horizon straight.", "Get closer to your subject to fill the frame.",
           "Take many photos and review what worked.", "Learn your camera's basic settings before buying more gear."),
          ("any camera, including a phone camera", "a spare battery", "a memory card", "a small tripod", "a lens cloth"),
          "Photography teaches you to notice light, color and small details in everyday life."),
    Hobby("knitting",
          ("Start with medium-weight yarn in a light color so you can see your stitches.", "Use medium-sized needles, such as 5 mm.",
           "Learn the knit stitch first, then the purl stitch.", "Make a simple scarf or dishcloth as your first project.",
           "Keep your tension relaxed instead of pulling the yarn tight.", "Count your stitches at the end of each row."),
          ("a pair of 5 mm needles", "a ball of medium-weight yarn", "small scissors", "a tapestry needle for weaving in ends"),
          "Knitting is calming, portable and leaves you with something warm and useful."),
    Hobby("chess",
          ("Learn how each piece moves, including special rules like castling.", "Try to control the centre of the board early.",
           "Develop your knights and bishops before bringing out the queen.", "Castle early to keep your king safe.",
           "Before each move, check what your opponent is threatening.", "Review your games to learn from mistakes."),
          ("a chess set and board", "a chess clock for timed games", "a beginner's chess book", "a free chess app for practice"),
          "Chess sharpens planning and concentration, and you can play with people all over the world."),
    Hobby("learning the guitar",
          ("Practice for 15 to 20 minutes every day rather than for hours once a week.",
           "Learn a few open chords first, such as G, C, D and E minor.", "Tune your guitar every time you play.",
           "Practice switching between two chords slowly before speeding up.", "Learn a simple song you love to stay motivated.",
           "Expect sore fingertips at first; they toughen up within a few weeks."),
          ("a guitar", "a clip-on tuner", "a few picks", "a guitar strap", "a capo"),
          "Playing the guitar is a creative outlet, and a few chords are enough to play hundreds of songs."),
    Hobby("birdwatching",
          ("Start by learning the common birds near your home.", "Go out early in the morning, when birds are most active.",
           "Move slowly and stay quiet.", "Use a field guide or an identification app.",
           "Listen for songs and calls as well as looking.", "Keep a list of the birds you see."),
          ("a pair of binoculars", "a field guide or birding app", "a notebook", "comfortable, muted clothing"),
          "Birdwatching slows you down and turns an ordinary walk into a treasure hunt."),
    Hobby("swimming",
          ("Take lessons from a qualified instructor.", "Practice breathing out slowly underwater.",
           "Use a kickboard to work on your kick.", "Wear goggles so you can see clearly.",
           "Build endurance gradually with short lengths and rests.", "Always swim where a lifeguard is on duty."),
          ("a swimsuit", "goggles", "a swim cap", "a towel", "a kickboard"),
          "Swimming works the whole body while being gentle on the joints."),
    Hobby("watercolor painting",
          ("Buy a few good brushes instead of many cheap ones.", "Use thick watercolor paper so it does not buckle.",
           "Work from light colors to dark colors.", "Let each layer dry before adding the next.",
           "Practice simple washes and gradients.", "Paint small studies before attempting large pieces."),
          ("a basic set of watercolor paints", "two or three round brushes", "watercolor paper", "two jars of water", "paper towels"),
          "Watercolor painting is relaxing, and its loose, glowing colors forgive a lot of mistakes."),
    Hobby("baking bread",
          ("Weigh your ingredients with a kitchen scale.", "Use warm water, not hot, so the yeast stays alive.",
           "Knead the dough until it is smooth and stretchy.", "Let the dough rise until it has roughly doubled in size.",
           "Bake until the loaf is deep golden and sounds hollow when tapped.", "Let the bread cool before slicing."),
          ("a kitchen scale", "a large mixing bowl", "a loaf pan or baking tray", "a clean kitchen towel", "an oven thermometer"),
          "Baking bread is satisfying, cheap and fills the house with a wonderful smell."),
    Hobby("hiking",
          ("Choose short, well-marked trails at first.", "Check the weather forecast before you leave.",
           "Tell someone where you are going and when you will be back.", "Carry enough water and snacks.",
           "Wear comfortable boots that are already broken in.", "Leave no trace by packing out all your rubbish."),
          ("sturdy walking shoes or boots", "a small backpack", "a water bottle", "a rain jacket", "a map or offline map app"),
          "Hiking builds fitness and gets you into fresh air and beautiful places."),
    Hobby("yoga",
          ("Start with a beginner class or video.", "Move slowly and never force a stretch.", "Focus on steady breathing.",
           "Practice a little every day.", "Use blocks or a strap to make poses easier.", "Tell your teacher about any injuries."),
          ("a yoga mat", "comfortable stretchy clothes", "a yoga block", "a strap", "a water bottle"),
          "Yoga improves flexibility and balance and can help you feel calmer."),
    Hobby("cycling",
          ("Always wear a helmet.", "Adjust the saddle so your leg is almost straight at the bottom of each pedal stroke.",
           "Check your tire pressure before each ride.", "Use hand signals to show other road users where you are going.",
           "Use front and rear lights at night.", "Start on quiet roads or bike paths."),
          ("a bike that fits you", "a helmet", "front and rear lights", "a lock", "a small pump"),
          "Cycling is good exercise, a cheap way to get around and a fun way to explore."),
    Hobby("learning a language",
          ("Practice a little every day, even for ten minutes.", "Learn the most common words first.",
           "Speak out loud from the start, even if you make mistakes.", "Listen to music, podcasts or shows in the language.",
           "Find a conversation partner or tutor.", "Review vocabulary with spaced-repetition flashcards."),
          ("a beginner textbook or course", "a flashcard app", "a notebook", "a dictionary app", "podcasts in the language"),
          "Learning a language opens up new friendships, travel and ways of seeing the world."),
    Hobby("meditation",
          ("Start with five minutes a day.", "Sit comfortably with your back upright.", "Focus on the feeling of your breath.",
           "When your mind wanders, gently bring it back without judging yourself.", "Meditate at the same time each day.",
           "Try a guided meditation if sitting in silence feels hard."),
          ("a quiet spot", "a cushion or chair", "a timer", "a guided meditation app (optional)"),
          "Meditation can reduce stress and help you focus, and it only takes a few minutes a day."),
    Hobby("pottery",
          ("Take an introductory class at a local studio.", "Learn to centre the clay on the wheel before anything else.",
           "Keep your hands and the clay wet, but not soaking.", "Start with simple shapes like small bowls.",
           "Don't get attached to early pieces; many will collapse.", "Let finished pieces dry slowly to prevent cracks."),
          ("clay", "access to a wheel and kiln, usually at a studio", "a sponge", "basic trimming tools", "an apron"),
          "Pottery is hands-on and absorbing, and you end up with bowls and mugs you can use."),
    Hobby("rock climbing",
          ("Start at an indoor climbing gym with an introductory class.", "Learn to tie in and belay from a qualified instructor.",
           "Push with your legs instead of pulling only with your arms.", "Keep your arms straight when resting to save energy.",
           "Climb with a partner and check each other's knots.", "Rest between climbs to avoid injury."),
          ("climbing shoes", "a harness", "a chalk bag", "a belay device", "a helmet for outdoor climbing"),
          "Rock climbing builds strength and problem-solving skills, and climbing gyms have a friendly community."),
    Hobby("journaling",
          ("Write for a few minutes at the same time each day.", "Don't worry about grammar or spelling.",
           "Use prompts when you don't know what to write.", "Note a few things you are grateful for.",
           "Keep your journal somewhere easy to reach.", "Read old entries now and then to see how you have grown."),
          ("a notebook you like", "a pen", "a quiet spot", "a list of writing prompts"),
          "Journaling helps you sort out your thoughts and keeps a record of your life."),
]


@dataclass(frozen=True)
class Recipe:
    dish: str
    ingredients: tuple[str, ...]
    steps: tuple[str, ...]
    minutes: int
    serves: int
    serve_with: str


RECIPES = [
    Recipe("scrambled eggs", ("4 eggs", "1 tablespoon butter", "a pinch of salt", "black pepper"),
           ("Crack the eggs into a bowl, add the salt and whisk until smooth.", "Melt the butter in a non-stick pan over medium-low heat.",
            "Pour in the eggs and let them sit for a few seconds.", "Stir gently with a spatula, pushing the eggs from the edges to the centre.",
            "Take the pan off the heat while the eggs still look slightly wet, season with pepper and serve."),
           10, 2, "buttered toast and a few cherry tomatoes"),
    Recipe("pancakes", ("1 cup flour", "1 tablespoon sugar", "2 teaspoons baking powder", "a pinch of salt", "1 cup milk", "1 egg",
                        "2 tablespoons melted butter"),
           ("Whisk the flour, sugar, baking powder and salt in a large bowl.", "In another bowl, whisk the milk, egg and melted butter.",
            "Pour the wet ingredients into the dry ones and stir until just combined; a few lumps are fine.",
            "Heat a lightly oiled pan over medium heat and pour in about a quarter cup of batter per pancake.",
            "Flip when bubbles appear on the surface, then cook for another minute until golden."),
           20, 3, "fresh berries and maple syrup"),
    Recipe("guacamole", ("2 ripe avocados", "the juice of 1 lime", "half a small onion, finely chopped", "1 tomato, diced",
                         "a handful of chopped cilantro", "salt"),
           ("Cut the avocados in half, remove the pits and scoop the flesh into a bowl.", "Mash the avocado with a fork, leaving it a little chunky.",
            "Stir in the lime juice, onion, tomato and cilantro.", "Season with salt, taste and adjust the lime or salt."),
           10, 4, "tortilla chips or tacos"),
    Recipe("tomato pasta", ("250 g spaghetti", "2 tablespoons olive oil", "3 cloves garlic, sliced", "1 can of chopped tomatoes",
                            "a handful of fresh basil", "salt", "grated Parmesan (optional)"),
           ("Cook the spaghetti in a large pot of boiling salted water according to the package.",
            "Meanwhile, warm the olive oil in a pan and gently cook the garlic for one minute.",
            "Add the tomatoes and a pinch of salt and simmer for 10 minutes.", "Drain the pasta, saving a splash of the cooking water.",
            "Toss the pasta with the sauce, the basil and a little pasta water, then serve with Parmesan."),
           25, 2, "a green salad"),
    Recipe("overnight oats", ("half a cup of rolled oats", "half a cup of milk", "a quarter cup of yogurt", "1 teaspoon honey",
                              "1 tablespoon chia seeds (optional)", "fresh fruit for topping"),
           ("Put the oats, milk, yogurt, honey and chia seeds in a jar.", "Stir well, close the jar and refrigerate overnight, or for at least 4 hours.",
            "In the morning, stir again and add a splash of milk if it is too thick.", "Top with fresh fruit and eat cold."),
           5, 1, "a cup of coffee or tea"),
    Recipe("lentil soup", ("1 onion", "2 carrots", "2 celery sticks", "2 cloves garlic", "1 cup red lentils", "1 litre vegetable broth",
                           "1 teaspoon ground cumin", "salt and pepper", "a squeeze of lemon"),
           ("Chop the onion, carrots and celery, and mince the garlic.", "Cook the vegetables in a little oil over medium heat for about 5 minutes until soft.",
            "Stir in the cumin, then add the rinsed lentils and the broth.", "Simmer for 20 to 25 minutes until the lentils are soft.",
            "Season with salt, pepper and lemon juice, and blend part of the soup if you like it thicker."),
           40, 4, "crusty bread"),
    Recipe("vegetable fried rice", ("3 cups cooked rice, preferably a day old", "2 eggs", "1 cup mixed peas, carrots and corn",
                                    "2 green onions", "2 tablespoons soy sauce", "1 tablespoon oil"),
           ("Heat the oil in a large pan or wok over high heat.", "Scramble the eggs in the pan, then move them to a plate.",
            "Stir-fry the vegetables for 2 to 3 minutes.", "Add the rice and stir-fry until hot, breaking up any clumps.",
            "Stir in the soy sauce, the eggs and the sliced green onions, then serve."),
           20, 3, "a simple cucumber salad"),
    Recipe("a fruit smoothie", ("1 banana", "1 cup frozen berries", "half a cup of yogurt", "half a cup of milk or juice", "1 teaspoon honey (optional)"),
           ("Pour the milk or juice into the blender first so it blends easily.", "Add the banana, frozen berries, yogurt and honey.",
            "Blend until smooth, adding a splash more liquid if it is too thick.", "Pour into a glass and serve right away."),
           5, 1, "a handful of granola"),
    Recipe("a grilled cheese sandwich", ("2 slices of bread", "butter", "2 slices of cheddar cheese"),
           ("Butter one side of each slice of bread.", "Place one slice butter-side down in a pan and add the cheese.",
            "Top with the second slice, butter-side up.", "Cook over medium-low heat for 3 to 4 minutes until golden, then flip.",
            "Cook the other side until golden and the cheese has melted."),
           10, 1, "a bowl of tomato soup"),
    Recipe("a Greek salad", ("3 tomatoes", "1 cucumber", "half a red onion", "a handful of Kalamata olives", "100 g feta cheese",
                           "3 tablespoons olive oil", "1 teaspoon dried oregano"),
           ("Cut the tomatoes and cucumber into chunks.", "Slice the red onion thinly.", "Combine the vegetables and olives in a bowl.",
            "Place the feta on top, drizzle with olive oil and sprinkle with oregano."),
           10, 2, "warm pita bread"),
    Recipe("hummus", ("1 can of chickpeas, drained", "3 tablespoons tahini", "the juice of 1 lemon", "1 clove garlic",
                      "2 tablespoons olive oil", "salt", "a few tablespoons of cold water"),
           ("Put the chickpeas, tahini, lemon juice, garlic and salt in a food processor.", "Blend for a minute, scraping down the sides.",
            "With the motor running, add the cold water a little at a time until smooth and creamy.",
            "Taste and adjust the salt or lemon, then drizzle with olive oil before serving."),
           10, 4, "pita bread and raw vegetables"),
    Recipe("banana bread", ("3 ripe bananas", "a third of a cup of melted butter", "half a cup of sugar", "1 egg", "1 teaspoon vanilla",
                            "1 teaspoon baking soda", "a pinch of salt", "one and a half cups of flour"),
           ("Heat the oven to 175 °C (350 °F) and grease a loaf pan.", "Mash the bananas in a bowl, then stir in the melted butter.",
            "Mix in the sugar, egg and vanilla.", "Stir in the baking soda and salt, then fold in the flour until just combined.",
            "Pour into the pan and bake for 55 to 65 minutes, until a skewer comes out clean."),
           75, 8, "a cup of tea"),
    Recipe("roasted vegetables", ("2 carrots", "1 red pepper", "1 zucchini", "1 red onion", "2 tablespoons olive oil", "salt and pepper",
                                  "1 teaspoon dried thyme"),
           ("Heat the oven to 220 °C (425 °F).", "Cut the vegetables into pieces of a similar size.",
            "Toss them with olive oil, salt, pepper and thyme on a baking tray.", "Spread them out in one layer so they roast instead of steaming.",
            "Roast for 25 to 30 minutes, turning once, until tender and browned at the edges."),
           40, 3, "rice, couscous or grilled chicken"),
    Recipe("a cheese omelette", ("3 eggs", "a pinch of salt", "1 teaspoon butter", "a handful of grated cheese"),
           ("Whisk the eggs with the salt.", "Melt the butter in a small non-stick pan over medium heat.",
            "Pour in the eggs and gently pull the set edges toward the centre.", "When the top is almost set, sprinkle the cheese over one half.",
            "Fold the omelette in half and slide it onto a plate."),
           10, 1, "a slice of toast and a small salad"),
]


@dataclass(frozen=True)
class Job:
    title: str
    duties: str  # completes "A {title} ..."
    tasks: tuple[str, ...]  # each completes "a {title} ..." in a list of a day's work
    skills: tuple[str, ...]


JOBS = [
    Job("nurse", "cares for patients, gives medicines and treatments, and watches for changes in their condition",
        ("checks on each patient at the start of a shift", "gives medicines and records vital signs", "works with doctors to update care plans",
         "explains treatments to patients and their families"), ("compassion", "attention to detail", "calm communication under pressure")),
    Job("teacher", "plans lessons, teaches students and helps each learner make progress",
        ("prepares lessons and materials before class", "teaches several classes", "marks homework and gives feedback",
         "meets parents or colleagues after school"), ("patience", "clear explanation", "organization")),
    Job("electrician", "installs, repairs and maintains electrical wiring, lighting and equipment",
        ("reviews the day's jobs and safety plans", "installs wiring, switches and outlets", "tests circuits to find faults",
         "checks that the work meets safety codes"), ("careful attention to safety", "problem solving", "reading technical diagrams")),
    Job("software developer", "designs, writes, tests and maintains computer programs",
        ("joins a short team meeting", "writes and reviews code", "fixes bugs reported by users", "tests new features"),
        ("logical thinking", "teamwork", "a habit of continuous learning")),
    Job("accountant", "prepares and checks financial records and helps people and businesses manage money and taxes",
        ("reviews financial statements", "prepares tax returns", "answers client questions", "looks for ways to cut costs"),
        ("accuracy", "comfort with numbers", "honesty")),
    Job("chef", "plans menus, cooks dishes and runs a kitchen team",
        ("checks deliveries of fresh ingredients", "preps sauces and vegetables", "cooks during the busy dinner service",
         "plans the next day's menu"), ("creativity", "speed under pressure", "food safety knowledge")),
    Job("pilot", "flies aircraft safely, carrying passengers or cargo from place to place",
        ("checks the weather and the flight plan", "inspects the aircraft with the crew", "flies the route while talking with air traffic control",
         "completes reports after landing"), ("focus", "quick decision-making", "clear communication")),
    Job("librarian", "helps people find information, looks after the library's collection and runs programs such as story time",
        ("answers visitors' questions", "helps people find books and online resources", "catalogues new books",
         "runs a reading group or workshop"), ("organization", "research skills", "friendliness")),
    Job("veterinarian", "diagnoses and treats illness and injury in animals",
        ("examines pets brought in for checkups", "gives vaccinations", "performs minor surgery", "advises owners on care and diet"),
        ("medical knowledge", "a gentle way with animals", "clear communication with owners")),
    Job("architect", "designs buildings and makes sure they are safe, useful and attractive",
        ("meets clients to discuss their needs", "draws plans and 3D models", "coordinates with engineers", "visits building sites"),
        ("creativity", "technical drawing", "problem solving")),
    Job("firefighter", "responds to fires, accidents and other emergencies to protect people and property",
        ("checks equipment and vehicles", "trains and exercises", "responds to emergency calls", "teaches fire safety in the community"),
        ("physical fitness", "teamwork", "courage")),
    Job("pharmacist", "prepares and dispenses medicines and advises people on how to use them safely",
        ("checks and fills prescriptions", "explains how and when to take medicines", "checks for harmful drug interactions",
         "answers questions about minor illnesses"), ("accuracy", "knowledge of medicines", "clear communication")),
    Job("graphic designer", "creates visual designs such as logos, posters, websites and packaging",
        ("meets clients to understand a project", "sketches ideas", "builds designs on the computer", "revises work based on feedback"),
        ("creativity", "an eye for color and layout", "skill with design software")),
    Job("plumber", "installs and repairs pipes, drains, taps and water heaters",
        ("visits homes to fix leaks", "installs new pipes and fittings", "clears blocked drains", "services water heaters"),
        ("problem solving", "physical stamina", "careful workmanship")),
    Job("journalist", "researches, writes and reports news stories",
        ("looks for story ideas", "interviews sources", "checks facts", "writes and edits articles before a deadline"),
        ("curiosity", "clear writing", "accuracy")),
    Job("data analyst", "collects, cleans and studies data to help organizations make decisions",
        ("gathers data from different sources", "cleans and organizes the data", "builds charts and reports", "presents findings to the team"),
        ("statistical skill", "attention to detail", "clear communication")),
    Job("dentist", "examines, cleans and treats teeth and gums",
        ("checks patients' teeth for problems", "fills cavities", "takes and reads X-rays", "teaches patients how to care for their teeth"),
        ("steady hands", "medical knowledge", "a reassuring manner")),
    Job("carpenter", "builds and repairs wooden structures such as frames, stairs, cabinets and furniture",
        ("reads plans and measures materials", "cuts and shapes wood", "assembles and installs pieces", "sands and finishes surfaces"),
        ("precise measuring", "skill with tools", "patience")),
    Job("translator", "converts written text from one language into another while keeping its meaning and tone",
        ("reads the source text carefully", "researches specialist terms", "writes the translation", "proofreads the final version"),
        ("fluency in two or more languages", "cultural knowledge", "careful writing")),
    Job("park ranger", "protects natural areas, helps visitors and teaches people about wildlife and the environment",
        ("patrols trails and campsites", "answers visitors' questions", "monitors wildlife", "leads guided walks"),
        ("love of the outdoors", "first-aid skills", "good communication")),
]


@dataclass(frozen=True)
class Product:
    name: str
    kind: str
    features: tuple[str, ...]
    audience: str


PRODUCTS = [  # features are noun phrases, so they read well in a list and after "It features ..."
    Product("AquaKeep", "insulated stainless steel water bottle",
            ("insulation that keeps drinks cold for 24 hours", "a leak-proof screw lid", "a slim shape that fits most car cup holders",
             "a scratch-resistant powder-coated finish"),
            "commuters, hikers and anyone who wants to drink more water"),
    Product("QuietWave", "pair of wireless noise-cancelling headphones",
            ("active noise cancelling", "30 hours of battery life", "soft memory-foam ear cushions", "a fold-flat design for travel"),
            "travellers and people who work in busy spaces"),
    Product("GreenLeaf", "bamboo cutting board",
            ("sustainably grown bamboo", "a surface that is gentle on knife edges", "a groove that catches juices", "a light but sturdy build"),
            "home cooks"),
    Product("SunGlow", "set of solar garden lights",
            ("solar charging with no wiring", "a sensor that switches them on at dusk", "a weather-resistant casing", "a warm white glow"),
            "anyone who wants a softly lit garden path"),
    Product("CozyNest", "merino wool throw blanket",
            ("soft, breathable merino wool", "a generous size for two", "a machine-washable weave", "a choice of five natural colors"),
            "people who love quiet evenings on the sofa"),
    Product("RiseUp", "adjustable standing desk",
            ("electric height adjustment at the press of a button", "three memory presets", "a sturdy steel frame", "a spacious desktop"),
            "people who work from home"),
    Product("TrailMate", "25-litre hiking backpack",
            ("padded, adjustable shoulder straps", "water-resistant fabric", "a sleeve for a water bladder", "plenty of small pockets for snacks and maps"),
            "day hikers"),
    Product("BrewBright", "glass French press coffee maker",
            ("heat-resistant borosilicate glass", "a fine stainless steel filter", "room for four cups at once", "a design that needs no paper filters"),
            "coffee lovers"),
    Product("FlexFlow", "non-slip yoga mat",
            ("a grippy surface", "6 mm of cushioning", "a handy carrying strap", "a surface that wipes clean easily"),
            "beginners and experienced yogis"),
    Product("StormShield", "lightweight waterproof rain jacket",
            ("a waterproof, breathable shell", "an adjustable hood", "a pocket it packs into", "fully taped seams"),
            "walkers, cyclists and travellers"),
    Product("LumaDesk", "adjustable LED desk lamp",
            ("adjustable brightness and color temperature", "a flexible arm", "a built-in USB charging port", "energy-efficient LEDs"),
            "students and home workers"),
    Product("ChefPro", "cast iron skillet",
            ("even heating that holds its temperature", "a body that works on the stove, in the oven and over a campfire",
             "a pre-seasoned surface", "a build that lasts for generations with simple care"), "home cooks"),
    Product("TidyTote", "reusable folding shopping bag",
            ("a pouch it folds into", "room for up to 15 kilograms of shopping", "fabric made from recycled plastic bottles", "a machine-washable design"),
            "shoppers who want to cut down on plastic bags"),
    Product("SnugStep", "pair of memory-foam slippers",
            ("cushioned memory-foam insoles", "a non-slip rubber sole", "a soft fleece lining", "a machine-washable design"),
            "anyone with cold feet at home"),
]


PEOPLE = [("Maya", "she"), ("Daniel", "he"), ("Aisha", "she"), ("Tomás", "he"), ("Priya", "she"), ("Kenji", "he"),
          ("Olivia", "she"), ("Samuel", "he"), ("Fatima", "she"), ("Lucas", "he"), ("Hannah", "she"), ("Mateo", "he"),
          ("Grace", "she"), ("Omar", "he"), ("Elena", "she"), ("Noah", "he"), ("Zara", "she"), ("Leo", "he"),
          ("Amara", "she"), ("Ivan", "he"), ("Chloe", "she"), ("Ravi", "he"), ("Sofia", "she"), ("Ben", "he")]


SURNAMES = ["Patel", "Garcia", "Kim", "Nguyen", "Okafor", "Rossi", "Johnson", "Silva", "Chen", "Haddad", "Novak",
            "Murphy", "Tanaka", "Lopez", "Andersen", "Mensah", "Kowalski", "Reyes"]


FIRST_NAMES = [name for name, _ in PEOPLE]


WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]


MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]


TOWNS = ["Willowbrook", "Stonebridge", "Maple Falls", "Cedar Hollow", "Riverton", "Ashford Green", "Brightwater",
         "Elmstead", "Fernhill", "Oakridge", "Pinecrest", "Larkspur Bay", "Harrow End", "Millbrook"]


RIVERS = ["Silver", "Alder", "Crane", "Wren", "Otter", "Linden", "Heron", "Marrow"]


TOWN_PRODUCTS = ["apple cider", "hand-woven baskets", "blue cheese", "wooden toys", "honey", "pottery", "wool blankets",
                 "strawberry jam", "glassware", "clocks"]


COMPANY_NAMES = ["Brightpath", "Northwind Labs", "Bluefern", "Tallgrass", "Copperleaf", "Ironbark Tools", "Seaglass",
                 "Quillstone", "Lanternfly", "Riverstone Bikes"]


COMPANY_PRODUCTS = ["electric bicycles", "reusable coffee cups", "solar phone chargers", "wooden desk organizers",
                    "hiking boots", "board games", "smart plant pots", "kitchen knives", "noise-cancelling earplugs"]


HQ_CITIES = ["Denver", "Lyon", "Osaka", "Toronto", "Melbourne", "Leeds", "Porto", "Rotterdam", "Austin", "Cork"]


CLUBS = [("chess club", "play games and solve puzzles"), ("photography club", "share photos and go on photo walks"),
         ("book club", "discuss a new novel each month"), ("hiking club", "plan weekend hikes"),
         ("choir", "rehearse songs for the spring concert"), ("robotics club", "build and program small robots"),
         ("gardening club", "swap seeds and tend the community garden"), ("film club", "watch and discuss classic films")]


BUILDINGS = ["community centre", "public library", "town hall", "old school building", "arts centre"]


EVENTS = [
    ("a bake sale", "the Maple Street Community Centre", "All proceeds support the school library."),
    ("the grand opening of Page Turner Books", "42 Main Street", "The first 50 customers get free coffee and 10 percent off."),
    ("a community park cleanup", "Riverside Park", "Gloves and bags are provided, so just bring a water bottle."),
    ("a charity 5K fun run", "the Lakeside Trail", "Every entry fee helps the local animal shelter, and walkers are welcome."),
    ("a free outdoor movie night", "Central Square", "Bring a blanket, and the popcorn is on us."),
    ("a weekend farmers market", "the old train station", "Expect fresh produce, local honey and live music."),
    ("a beginner coding workshop", "the public library", "Laptops are provided and no experience is needed."),
    ("a plant swap", "Greenway Garden Centre", "Bring a plant, take a plant, and meet fellow gardeners."),
    ("a summer reading challenge", "the town library", "Read five books over the summer and win a prize."),
    ("a jazz night", "The Blue Lantern Café", "Local musicians will play two sets of classic and modern jazz."),
    ("a free bike repair clinic", "the Riverton Cycle Hub", "Volunteers will fix brakes, chains and flat tires at no cost."),
    ("a community potluck dinner", "Elm Park pavilion", "Bring a dish to share and a friend to meet."),
]


EVENT_TIMES = ["10 am to 2 pm", "9 am to noon", "6 pm to 9 pm", "2 pm to 5 pm", "11 am to 3 pm"]


EVENT_DAYS = ["Saturday", "Sunday", "Friday", "Saturday, June 14", "Sunday, May 4"]


BUSINESSES = [
    ("a neighbourhood bakery", ("Fresh from our oven to your table.", "Good mornings start with warm bread."), "it highlights freshness and a welcoming, everyday ritual"),
    ("a bike repair shop", ("We keep your wheels turning.", "Fixed today, riding tomorrow."), "it promises quick, reliable repairs"),
    ("a dog-walking service", ("Happy dogs, happy owners.", "Every walk, a wagging tail."), "it focuses on the joy of both pets and their owners"),
    ("a coffee shop", ("Great days start here.", "Brewed with care, served with a smile."), "it connects the coffee with a good start to the day"),
    ("a house-cleaning company", ("Spotless homes, more free time.", "We clean, you relax."), "it sells the benefit customers care about: time"),
    ("a plant nursery", ("Grow something wonderful.", "Rooted in our community."), "it invites customers to picture their own garden"),
    ("a language school", ("Speak with confidence.", "Your world, in more words."), "it speaks to the goal learners have, not just the lessons"),
    ("an independent bookstore", ("Find your next favourite story.", "Where every shelf holds a surprise."), "it captures the pleasure of browsing"),
    ("a fitness studio", ("Stronger every day.", "Move more, feel better."), "it is upbeat and focuses on steady progress"),
    ("a tutoring service", ("Learning that clicks.", "Confidence, one lesson at a time."), "it promises understanding, not just grades"),
    ("a local farm shop", ("From our fields to your fork.", "Picked this morning, on your plate tonight."), "it stresses local, fresh produce"),
    ("an electric car charging network", ("Charge up. Drive on.", "Power for every journey."), "it is short and makes charging sound effortless"),
]


POEMS = {
    "the ocean": ("The ocean hums a steady tune,\nIt rises to the silver moon,\nIt carries ships and gulls and foam,\nAnd sings the sailors safely home.",
                  "Beneath the waves, in blue and green,\nA quiet kingdom lies unseen,\nWhere coral towers gently sway\nAnd sunlight fades to softest gray."),
    "autumn": ("The maple trees are turning red,\nThe sky hangs low and gray instead,\nThe leaves come tumbling to the ground\nAnd crunch beneath us, gold and brown.",
               "The air is crisp, the evenings cool,\nThe children hurry off to school,\nThe apples ripen, round and sweet,\nAnd pumpkins glow along the street."),
    "the moon": ("The moon climbs up the evening sky,\nA lantern hung for passers-by,\nIt paints the rooftops pale and white\nAnd keeps its watch throughout the night.",
                 "It waxes full, it wanes away,\nIt pulls the tides from bay to bay,\nAnd though it never says a word,\nIts gentle glow is felt, not heard."),
    "rain": ("The rain taps softly on the pane,\nIt fills the gutters, soaks the lane,\nThe thirsty flowers lift their heads\nAnd drink it in their muddy beds.",
             "I like to hear the evening rain\nRun down the roof and down the drain;\nIt hums a lullaby so deep\nThat soon the whole house falls asleep."),
    "mountains": ("The mountains stand so tall and wide,\nWith snow upon their rocky side,\nThey watch the valleys far below\nWhere winding rivers come and go.",
                  "I climbed until the air was thin\nAnd felt the cold wind on my skin,\nThen from the summit I could see\nThe whole wide world spread out for me."),
    "friendship": ("A friend is someone who will stay\nWhen skies are dark and hopes are gray,\nWho laughs with you at silly things\nAnd shares the joy that each day brings.",
                   "We've shared our secrets, snacks and songs,\nWe've helped to right each other's wrongs,\nAnd though the years may pull apart,\nYou'll always have a place in my heart."),
    "coffee": ("A cup of coffee, dark and warm,\nA shelter from the morning storm,\nIts rich aroma fills the air\nAnd chases off my sleepy stare.",
               "The kettle sings, the beans are ground,\nThe sweetest smell is all around,\nOne careful sip, and I can say\nI'm ready now to face the day."),
    "a garden": ("In my garden, row by row,\nThe beans and tall sunflowers grow,\nThe bees drift by on lazy wings\nAnd hum of small and simple things.",
                 "I planted seeds in early spring\nAnd waited for what time would bring;\nNow tomatoes, red and round,\nHang heavy just above the ground."),
    "winter": ("The snow falls soft on field and tree,\nAs quiet as a world can be,\nThe hills are wrapped in white and blue,\nAnd every footprint's fresh and new.",
               "We light the fire and pull up chairs,\nWe sip hot cocoa, share our cares,\nWhile frost outside, with silver hands,\nDraws ferns and far-off winter lands."),
    "the stars": ("A thousand stars light up the night,\nEach one a distant, burning light,\nThey've travelled years across the dark\nTo reach us as a tiny spark.",
                  "I lie on grass and trace their lines,\nThe hunter's belt, the dipper's signs,\nAnd think, though we are small, that we\nAre made of stardust, you and me."),
    "a cat": ("My cat sleeps in a patch of sun,\nHer busy morning's work is done,\nShe stretches out and twitches ears,\nThen dreams as if for years and years.",
              "At night she prowls from room to room,\nA shadow gliding through the gloom,\nBut in the morning, soft and sweet,\nShe purrs and curls up at my feet."),
    "a city at night": ("The city hums when day is done,\nIts windows glowing one by one,\nThe traffic flows in streams of light\nAlong the streets that shine all night.",
                        "A saxophone on a corner plays,\nA taxi hurries through the haze,\nAnd far above the crowded street\nThe moon and neon softly meet."),
    "spring": ("The robins sing, the days grow long,\nThe meadow hums a brand-new song,\nThe tulips open, red and gold,\nAnd push aside the winter's cold.",
               "Green buds appear on every tree,\nThe blossoms call the busy bee,\nAnd after months of gray and rain,\nThe world wakes up and smiles again."),
    "a dog": ("My dog is waiting by the door,\nHis tail is thumping on the floor,\nHe greets me like I've been away\nFor years, though I was gone a day.",
              "We run together through the park,\nHe chases leaves and starts to bark,\nThen home we go, both tired and fed,\nTo curl up warm beside the bed."),
}


# (casual original, formal version, friendly version)
TONE_TRIPLES = [
    ("hey, can u send me the report by tmrw? thx", "Could you please send me the report by tomorrow? Thank you.",
     "Hi! Would you mind sending me the report by tomorrow? Thanks so much!"),
    ("gonna be late to the meeting, traffic is crazy", "I apologize, but I will be late to the meeting because of heavy traffic.",
     "Heads up: I'm running a bit late for the meeting because the traffic is terrible. See you soon!"),
    ("the printer is broken again, somebody fix it", "The printer is out of order again. Could someone please arrange for it to be repaired?",
     "Looks like the printer is broken again. Could someone take a look when they get a chance? Thanks!"),
    ("we need the money for the project asap", "We would appreciate receiving the project funds as soon as possible.",
     "Hi all, could we get the project funds sorted soon? It would be a big help. Thanks!"),
    ("cant come to the party sorry", "Unfortunately, I am unable to attend the party. Please accept my apologies.",
     "I'm so sorry, but I can't make it to the party. I hope you all have a wonderful time!"),
    ("ur order is delayed, itll ship next week", "Your order has been delayed and is now expected to ship next week. We apologize for the inconvenience.",
     "Sorry for the wait! Your order is running a little behind and should ship next week."),
    ("pls stop leaving dishes in the sink", "Please do not leave dirty dishes in the sink.",
     "Quick reminder: please wash your dishes instead of leaving them in the sink. Thanks, everyone!"),
    ("thx for the help yesterday, u saved me", "Thank you for your assistance yesterday; it was extremely helpful.",
     "Thanks so much for your help yesterday. You saved the day!"),
    ("the meeting got moved to 3, dont forget", "Please note that the meeting has been moved to 3 p.m.",
     "Just a reminder: the meeting has moved to 3 o'clock. See you there!"),
    ("i want a refund, the blender broke after 2 days", "I would like to request a refund, as the blender stopped working after two days.",
     "Hi there, my blender stopped working after only two days, so I'd like to ask for a refund. Thanks for your help!"),
    ("wifi is down, working on it", "We are aware that the Wi-Fi is currently unavailable and are working to restore it.",
     "The Wi-Fi is down right now, but we're on it and hope to have it back soon!"),
    ("tell me if the price changes", "Please let me know if there are any changes to the price.",
     "Could you give me a shout if the price changes? Thanks!"),
    ("the new guy starts monday, be nice", "Our new colleague joins the team on Monday; please make him feel welcome.",
     "Our new teammate starts on Monday. Let's give him a warm welcome!"),
    ("ur package is at the front desk", "Your package is waiting for you at the front desk.",
     "Good news: your package has arrived and is waiting for you at the front desk!"),
]


GRAMMAR_FIXES = [
    ("Me and him goes to the store every saturday.", "He and I go to the store every Saturday."),
    ("Their going to the park later, but they forgot there umbrella.", "They're going to the park later, but they forgot their umbrella."),
    ("She don't like coffee in the mornings.", "She doesn't like coffee in the mornings."),
    ("The dog wagged it's tail when it seen me.", "The dog wagged its tail when it saw me."),
    ("Your the best cook I ever met.", "You're the best cook I have ever met."),
    ("There is less people at the gym on sundays.", "There are fewer people at the gym on Sundays."),
    ("I should of brought a jacket, its freezing.", "I should have brought a jacket; it's freezing."),
    ("Between you and I, the cake was to sweet.", "Between you and me, the cake was too sweet."),
    ("We was late because the bus didnt come.", "We were late because the bus didn't come."),
    ("He runned faster then everyone in the race.", "He ran faster than everyone in the race."),
    ("The books on the shelf is dusty.", "The books on the shelf are dusty."),
    ("Can you borrow me your pen?", "Can you lend me your pen?"),
    ("I seen that movie two times already.", "I have already seen that movie twice."),
    ("Whose coming to the party tonight?", "Who's coming to the party tonight?"),
    ("The childrens played in the garden all afternoon.", "The children played in the garden all afternoon."),
    ("If I was you, I would of called her.", "If I were you, I would have called her."),
]


SHORTEN_PAIRS = [
    ("In my personal opinion, I think that we should probably consider the possibility of starting the meeting at an earlier time in the future.",
     "I think we should start future meetings earlier."),
    ("Due to the fact that it was raining very heavily outside, we made the decision to stay indoors for the whole of the afternoon.",
     "Because it was raining heavily, we stayed inside all afternoon."),
    ("At this point in time, the company is currently in the process of reviewing all of the applications that it has received.",
     "The company is reviewing all the applications it received."),
    ("It is absolutely essential and necessary that each and every employee completes the safety training before the end of the month.",
     "Every employee must complete the safety training by the end of the month."),
    ("The reason why I was late to work this morning is because of the fact that my car would not start when I tried to start it.",
     "I was late to work this morning because my car wouldn't start."),
    ("In spite of the fact that the restaurant was very small in size, it was able to serve a large number of customers each and every night.",
     "Although the restaurant was small, it served many customers every night."),
    ("We would like to take this opportunity to thank each and every one of you for your continued support over the course of the past year.",
     "Thank you all for your support this past year."),
    ("She made an attempt to try to finish the report in advance of the deadline, but in the end she was not able to do so.",
     "She tried to finish the report before the deadline but couldn't."),
    ("The new park, which was opened to the public last week, has a large number of trees and also a playground for children to play in.",
     "The new park, which opened last week, has many trees and a children's playground."),
    ("For the purpose of saving money, our family has made the decision to cook meals at home more often instead of eating out at restaurants.",
     "To save money, our family has decided to cook at home more and eat out less."),
]


PASSIVE_PAIRS = [
    ("The cake was eaten by the children.", "The children ate the cake."),
    ("The letter was written by my grandmother in 1965.", "My grandmother wrote the letter in 1965."),
    ("The window was broken by a stray baseball.", "A stray baseball broke the window."),
    ("The new bridge will be opened by the mayor on Friday.", "The mayor will open the new bridge on Friday."),
    ("The song was performed by a local choir.", "A local choir performed the song."),
    ("The report is being reviewed by the manager.", "The manager is reviewing the report."),
    ("The mouse was chased across the kitchen by the cat.", "The cat chased the mouse across the kitchen."),
    ("Several mistakes were made by the team during the launch.", "The team made several mistakes during the launch."),
    ("The garden is watered by my neighbour every morning.", "My neighbour waters the garden every morning."),
    ("The museum was visited by thousands of tourists last summer.", "Thousands of tourists visited the museum last summer."),
]


PLAIN_PAIRS = [
    ("Precipitation is anticipated throughout the afternoon, so residents are advised to carry umbrellas.",
     "It will probably rain this afternoon, so take an umbrella."),
    ("The establishment will cease operations at 9 p.m. for scheduled maintenance.", "The shop will close at 9 p.m. for repairs."),
    ("Participants are required to register prior to the commencement of the event.", "Please sign up before the event starts."),
    ("The medication should be administered twice daily following meals.", "Take this medicine twice a day after eating."),
    ("Individuals exhibiting symptoms of illness should refrain from attending the workplace.", "If you feel sick, stay home from work."),
    ("The library has extended its hours of operation to accommodate students during the examination period.",
     "The library is staying open longer so students can study for exams."),
    ("Utilize the stairwell in the event of a fire.", "Use the stairs if there is a fire."),
    ("We regret to inform you that your application was unsuccessful.", "We're sorry, but your application was not accepted."),
    ("Consumption of food and beverages is prohibited within the gallery.", "No eating or drinking in the gallery."),
    ("Kindly ensure that all personal belongings are retained in your possession.", "Please keep your belongings with you."),
]


# (what to brainstorm, ideas): the phrase fits "Give me 5 {phrase}".
BRAINSTORM_THEMES = [
    ("gift ideas for someone who loves gardening", ("a set of sturdy hand tools", "seed packets of unusual vegetables", "a comfortable kneeling pad",
     "a beautiful ceramic planter", "a rain gauge", "a gardening apron with pockets", "a book on growing herbs", "a bird feeder for the garden")),
    ("gift ideas for a coffee lover", ("a bag of beans from a local roaster", "a hand grinder", "a pour-over coffee set", "an insulated travel mug",
     "a coffee tasting class", "a milk frother", "a pair of handmade mugs")),
    ("gift ideas for a book lover", ("a gift card to an independent bookstore", "a clip-on reading light", "a set of bookmarks",
     "a book subscription box", "a cozy reading blanket", "a bookstand for reading in bed", "a personalised bookplate stamp")),
    ("gift ideas for a new parent", ("a home-cooked meal delivered to their door", "an offer to babysit for an afternoon", "a soft baby carrier",
     "a photo album for the first year", "a comfortable robe", "a white noise machine", "a voucher for a cleaning service")),
    ("gift ideas for a teenager who likes music", ("wireless earbuds", "tickets to a concert", "a vinyl record of a favourite album",
     "a music streaming gift card", "a beginner ukulele", "a portable Bluetooth speaker", "a lesson with a local music teacher")),
    ("indoor activities for a rainy day", ("build a blanket fort", "hold a board game tournament", "bake cookies together", "start a jigsaw puzzle",
     "write and perform a short play", "have a movie marathon", "try origami", "set up an indoor scavenger hunt")),
    ("ways to save money on groceries", ("plan the week's meals before shopping", "shop with a list and stick to it", "choose store brands",
     "cook in batches and freeze portions", "compare unit prices", "buy fruit and vegetables in season", "avoid shopping when hungry",
     "turn leftovers into new meals")),
    ("ways to reduce plastic waste at home", ("carry a reusable water bottle", "bring cloth bags when shopping", "buy in bulk with your own containers",
     "switch to bar soap and shampoo bars", "use beeswax wraps instead of cling film", "skip plastic straws", "store food in glass jars")),
    ("team-building activities for a small office", ("an escape room", "a group cooking class", "a volunteer day", "a lunchtime trivia quiz",
     "a team sports afternoon", "a board game lunch", "a shared potluck", "a photo scavenger hunt around the neighbourhood")),
    ("date night ideas at home", ("cook a new recipe together", "have a picnic on the living room floor", "rewatch the first film you saw together",
     "play a board game", "stargaze from the balcony or garden", "do a puzzle with music on", "write each other letters")),
    ("names for a friendly orange cat", ("Marmalade", "Ginger", "Pumpkin", "Sunny", "Apricot", "Nacho", "Biscuit", "Mango")),
    ("names for a playful puppy", ("Scout", "Pepper", "Milo", "Luna", "Ziggy", "Bean", "Rocket", "Waffles")),
    ("names for a new bakery", ("Rise and Shine Bakery", "The Golden Crust", "Flour and Friends", "Morning Loaf", "Sweet Crumbs",
     "The Rolling Pin", "Butter and Bloom")),
    ("names for a coffee shop", ("The Daily Grind", "Bean There", "Morning Ritual", "Common Grounds", "Brew Haven", "The Steady Cup",
     "Roast and Rest")),
    ("questions to ask at the end of a job interview", ("What does a typical day look like in this role?",
     "How will success be measured in the first six months?", "What do you enjoy most about working here?",
     "What are the biggest challenges facing the team right now?", "How does the team share feedback?",
     "What are the next steps in the hiring process?", "What opportunities are there to learn and grow?")),
    ("ways to stay focused when working from home", ("keep a dedicated workspace", "start the day with a short plan",
     "work in focused blocks with short breaks", "put your phone in another room", "get dressed as if you were going to the office",
     "set clear start and end times", "take a walk at lunch")),
    ("healthy snacks to bring to work", ("apple slices with peanut butter", "a handful of unsalted nuts", "carrot sticks with hummus",
     "Greek yogurt with berries", "a hard-boiled egg", "roasted chickpeas", "whole-grain crackers with cheese")),
    ("themes for a children's birthday party", ("pirates", "outer space", "dinosaurs", "under the sea", "superheroes", "a jungle safari",
     "a science lab", "a fairy-tale castle")),
    ("science fair project ideas", ("test which paper towel absorbs the most water", "grow plants with different amounts of light",
     "compare how fast ice melts in salt water and fresh water", "build a simple water filter with sand and gravel",
     "find out which material keeps a cup of hot water warm longest", "test how the height of a ramp changes a toy car's speed")),
    ("ways to practise a new language every day", ("label objects around your home", "change your phone's language setting",
     "listen to a podcast during your commute", "write a three-sentence diary entry", "describe what you are doing while you cook",
     "watch a show with subtitles in the language", "use a flashcard app for ten minutes")),
    ("icebreaker questions for a new team", ("What was your first job?", "What is a skill you would love to learn?",
     "What is the best trip you have ever taken?", "What is your favourite way to spend a weekend?",
     "What book or show would you recommend?", "If you could have any superpower, what would it be?",
     "What is something on your bucket list?")),
    ("ways to make a small apartment feel bigger", ("use mirrors to reflect light", "choose furniture with visible legs",
     "keep surfaces clear", "paint the walls a light color", "add tall shelves", "pick furniture with hidden storage",
     "hang curtains high and wide")),
    ("ways to fall asleep faster", ("keep a regular bedtime", "avoid screens for an hour before bed", "keep the bedroom cool and dark",
     "avoid caffeine after lunch", "try slow, deep breathing", "write tomorrow's to-do list before bed", "read a paper book")),
    ("fun things to do with kids at the beach", ("build a sandcastle with a moat", "look for shells and smooth stones", "fly a kite",
     "explore rock pools", "play frisbee", "bury each other's feet in the sand", "draw pictures in the wet sand")),
    ("ideas for a relaxing Sunday", ("sleep in and make a slow breakfast", "take a long walk in a park", "read a novel in a sunny spot",
     "try a new recipe", "call a friend or relative", "take a nap", "listen to a favourite album from start to finish")),
    ("ways to welcome a new neighbour", ("bring over homemade cookies", "leave a card with your phone number", "share a list of good local shops",
     "invite them for coffee", "offer to help carry boxes", "introduce them to other neighbours", "lend them a tool they might need")),
    ("topics for a short school presentation", ("how bees make honey", "why the Moon has phases", "the history of the bicycle",
     "how volcanoes form", "the life cycle of a butterfly", "how recycling works", "why we have time zones")),
    ("ways to use up overripe bananas", ("bake banana bread", "blend them into a smoothie", "make banana pancakes", "freeze slices for later",
     "mash them into oatmeal", "make two-ingredient banana cookies with oats")),
]


HEADLINES = [
    ("Local swimmer breaks regional record in 200-metre freestyle", "sports"),
    ("City team wins championship after dramatic penalty shootout", "sports"),
    ("Veteran tennis player announces retirement after 18 seasons", "sports"),
    ("Marathon organizers expect record number of runners this spring", "sports"),
    ("New smartphone chip promises two days of battery life", "technology"),
    ("Start-up unveils app that translates sign language in real time", "technology"),
    ("Software update fixes security flaw in popular web browser", "technology"),
    ("Engineers build robot that can sort recycling by material", "technology"),
    ("Study links regular walking to better sleep in older adults", "health"),
    ("Hospitals report fewer flu cases than last winter", "health"),
    ("Doctors urge parents to keep children's vaccinations up to date", "health"),
    ("New guidelines recommend less added sugar in school meals", "health"),
    ("Bakery chain opens 20 new stores as sales climb", "business"),
    ("Central bank holds interest rates steady for third month", "business"),
    ("Local furniture maker doubles exports to Europe", "business"),
    ("Shares of electric carmaker fall after weak quarterly results", "business"),
    ("Heavy snow expected across the north this weekend", "weather"),
    ("Heatwave to continue with highs near 38 degrees", "weather"),
    ("Storm warning issued as strong winds approach the coast", "weather"),
    ("Dry, sunny week ahead after days of rain", "weather"),
]


HEADLINE_LABELS = ("sports", "technology", "health", "business", "weather")


MESSAGES = [
    ("Congratulations! You've won a $1,000 gift card. Click this link within 24 hours to claim your prize!", "spam",
     "it promises an unexpected prize and pressures you to click a link quickly"),
    ("URGENT: Your bank account has been locked. Reply with your password to unlock it.", "spam",
     "it asks for your password, which a real bank never does"),
    ("You have been selected for a free cruise! Just pay a small processing fee to book.", "spam",
     "it offers something free but asks for money first"),
    ("Earn $5,000 a week from home with no experience! Limited spots, sign up now!", "spam",
     "it makes an unrealistic money promise and pushes you to act fast"),
    ("Your package could not be delivered. Pay the $2 redelivery fee at this link.", "spam",
     "it is an unexpected payment request through a link, a common delivery scam"),
    ("Hi Sam, are we still meeting for lunch on Thursday at noon?", "legitimate",
     "it is a personal message about a real plan between people who know each other"),
    ("Reminder: your dentist appointment is tomorrow at 3:30 pm. Reply C to confirm.", "legitimate",
     "it is a routine appointment reminder that asks for nothing sensitive"),
    ("The team meeting has moved to room 4B. See you at 10.", "legitimate", "it is an ordinary work update"),
    ("Thanks for your order! Your receipt is attached, and your books will arrive on Friday.", "legitimate",
     "it is a normal order confirmation with no suspicious request"),
    ("Mum says dinner is at 7, and can you pick up some bread on the way?", "legitimate",
     "it is a personal message from family about everyday plans"),
]


PRODUCE = [("apple", "fruit"), ("banana", "fruit"), ("mango", "fruit"), ("strawberry", "fruit"), ("pear", "fruit"),
           ("cherry", "fruit"), ("peach", "fruit"), ("grape", "fruit"), ("carrot", "vegetable"), ("broccoli", "vegetable"),
           ("spinach", "vegetable"), ("potato", "vegetable"), ("onion", "vegetable"), ("cabbage", "vegetable"),
           ("lettuce", "vegetable"), ("celery", "vegetable")]


REVIEW_ITEMS = ["blender", "hotel", "restaurant", "pair of headphones", "desk chair", "novel", "phone case", "coffee maker",
                "backpack", "hair dryer"]


POSITIVE_LINES = {
    "blender": "It crushes ice in seconds and is easy to clean.", "hotel": "The room was spotless and the staff were warm and helpful.",
    "restaurant": "The food was delicious and the service was quick and friendly.", "pair of headphones": "The sound is clear and they stay comfortable for hours.",
    "desk chair": "It is comfortable all day and was easy to assemble.", "novel": "The characters felt real and I could not put it down.",
    "phone case": "It fits perfectly and survived a drop onto concrete without a scratch.", "coffee maker": "It brews a rich cup in minutes and keeps it hot.",
    "backpack": "It holds everything I need and the straps are comfortable.", "hair dryer": "It is quiet, powerful and dries my hair quickly.",
}


NEGATIVE_LINES = {
    "blender": "It leaked from the base the first time I used it.", "hotel": "The room was dirty and the air conditioning did not work.",
    "restaurant": "We waited an hour for cold food and nobody apologized.", "pair of headphones": "The left side stopped working after a week.",
    "desk chair": "It started wobbling after a few days and the cushion went flat.", "novel": "The plot dragged and the ending made no sense.",
    "phone case": "It cracked the first time I dropped my phone.", "coffee maker": "The coffee tastes burnt and the carafe drips everywhere.",
    "backpack": "A strap ripped off on the second day.", "hair dryer": "It overheats and shuts off after two minutes.",
}


STORY_CHARACTERS = [("Mira", "a young inventor", "she", "her"), ("Tobias", "an old fisherman", "he", "his"),
                    ("Pip", "a small, curious robot", "it", "its"), ("Lena", "a shy baker", "she", "her"),
                    ("Oscar", "a retired postman", "he", "his"), ("Juniper", "a clever fox", "she", "her"),
                    ("Arlo", "a lighthouse keeper", "he", "his"), ("Nia", "a ten-year-old girl", "she", "her"),
                    ("Felix", "a grumpy old cat", "he", "his"), ("Rosa", "a school librarian", "she", "her"),
                    ("Bram", "a young shepherd", "he", "his"), ("Ada", "a travelling musician", "she", "her")]


STORY_SETTINGS = ["in a quiet village by the sea", "at the edge of a snowy forest", "in a busy city apartment",
                  "on a farm near the rolling hills", "on a small rocky island", "in a town surrounded by vineyards"]


@dataclass(frozen=True)
class Plot:
    goal: str  # infinitive: "build a kite ..."
    goal_ing: str  # gerund: "building a kite ..."
    obstacle: str  # a sentence with {name}/{pronoun}/{Pronoun}/{poss} slots
    action: str  # a sentence
    resolution: str  # a sentence
    moral: str  # a sentence


PLOTS = [
    Plot("build a kite that could fly above the clouds", "building a kite that could fly above the clouds",
         "On the first windy morning, a gust snapped the kite's frame in two.",
         "Instead of giving up, {name} gathered thinner sticks and stronger string and built a lighter frame.",
         "The new kite rose so high that it looked like a tiny speck against the sky.",
         "{Pronoun} learned that a broken first try is often the start of a better second one."),
    Plot("win the local baking contest", "winning the local baking contest",
         "The day before the contest, {poss} oven stopped working.",
         "{name} knocked on a neighbour's door, asked to share the oven and baked late into the night.",
         "The judges praised the golden apple pie, and the neighbour got the very first slice.",
         "{Pronoun} discovered that asking for help can turn a disaster into a friendship."),
    Plot("find the source of a mysterious song heard every night", "finding the source of a mysterious song heard every night",
         "One evening, a thick fog rolled in and hid the path.",
         "{name} followed the sound slowly, one careful step at a time.",
         "At last {pronoun} found an old music box playing inside a hollow tree.",
         "{Pronoun} wound it up every evening after that, so the whole place could keep hearing its tune."),
    Plot("grow a garden on a bare patch of land", "growing a garden on a bare patch of land",
         "The first seeds were eaten by hungry birds within a day.",
         "{name} made a small net from old fishing line to protect the next seeds.",
         "By summer the patch was full of tomatoes, beans and sunflowers.",
         "{Pronoun} shared the harvest with everyone who had laughed at the idea."),
    Plot("learn to play the violin", "learning to play the violin",
         "For weeks, every note {pronoun} played sounded like a squeaking door.",
         "{name} kept practising a little every day, even when it felt hopeless.",
         "At the spring festival, {pronoun} played a simple melody and the crowd clapped along.",
         "{Pronoun} realised that small steps, taken every day, add up to a song."),
    Plot("make a new friend", "making a new friend",
         "But {name} was too shy to say hello to anyone.",
         "One morning, {pronoun} left a kind note and a drawing on a neighbour's doorstep.",
         "The neighbour knocked on the door to say thank you, and the two talked for hours.",
         "From then on, {name} never underestimated the power of a small, kind gesture."),
    Plot("reach the top of the tallest hill nearby", "reaching the top of the tallest hill nearby",
         "Halfway up, a sudden rainstorm turned the path to mud.",
         "{name} waited under a rock ledge and climbed on carefully once the rain had passed.",
         "At the top, {pronoun} watched the sunset as a rainbow stretched across the valley.",
         "{Pronoun} learned that patience can be the fastest way to the top."),
    Plot("fix the old clock in the town square", "fixing the old clock in the town square",
         "One tiny gear was missing, and no shop sold anything like it.",
         "{name} carved a new gear from a scrap of brass, filing it until it fit perfectly.",
         "At noon the next day, the clock chimed for the first time in years.",
         "People still set their watches by it, and they still thank {name}."),
]


EMAIL_SCENARIOS = [
    ("manager", "asking for a day off on {day}",
     "Hi {name},\n\nI would like to request a day off on {day} for a personal appointment. I will finish my current tasks "
     "beforehand and make sure anything urgent is covered while I am away. Please let me know if that works for you.\n\nThank you,\n{sender}"),
    ("colleague", "thanking them for their help with the {project}",
     "Hi {name},\n\nThank you so much for your help with the {project}. Your ideas and extra time made a real difference, and "
     "the whole team noticed. Please let me know if I can ever return the favour.\n\nBest,\n{sender}"),
    ("client", "asking to move our meeting from {day} to {day2}",
     "Dear {name},\n\nUnfortunately, something has come up and I can no longer make our meeting on {day}. Would {day2} at the "
     "same time work for you instead? I apologise for the inconvenience and will send an updated invitation once you confirm.\n\nBest regards,\n{sender}"),
    ("friend", "inviting them to dinner on {day}",
     "Hi {name},\n\nWould you like to come over for dinner on {day} around 7 pm? I'm planning to make {dish}, and it would be "
     "lovely to catch up. Let me know if you can make it and if there is anything you don't eat.\n\nSee you soon,\n{sender}"),
    ("interviewer", "thanking them after my interview for the {job} position",
     "Dear {name},\n\nThank you for taking the time to speak with me about the {job} position. I enjoyed learning more about "
     "your team, and our conversation made me even more excited about the role. Please let me know if you need any further "
     "information from me.\n\nKind regards,\n{sender}"),
    ("neighbour", "asking them to water my plants while I'm away from {day} to {day2}",
     "Hi {name},\n\nI'll be away from {day} to {day2}, and I was wondering if you could water my plants while I'm gone. They "
     "only need water every other day, and I can leave a spare key with you. Thank you so much, and I'm happy to return the "
     "favour anytime.\n\nBest,\n{sender}"),
    ("customer", "apologising that their order arrived late",
     "Dear {name},\n\nI'm sorry that your order arrived later than we promised. The delay was caused by a problem at our "
     "warehouse, which we have now fixed. As a thank-you for your patience, we have added a 10 percent discount to your "
     "account for your next purchase.\n\nSincerely,\n{sender}"),
    ("landlord", "reporting that the kitchen tap is leaking",
     "Dear {name},\n\nI'm writing to let you know that the kitchen tap in my flat has started leaking steadily. I have placed "
     "a bowl underneath for now, but it seems to be getting worse. Could you arrange for a plumber to take a look this week? "
     "I'm usually home after 5 pm.\n\nThank you,\n{sender}"),
    ("daughter's teacher", "asking how my daughter is getting on in maths",
     "Dear {name},\n\nI hope you are well. I wanted to ask how my daughter is getting on in maths this term. She sometimes "
     "finds the homework difficult, and I would like to know how we can best support her at home. Would you have time for a "
     "short chat this week?\n\nMany thanks,\n{sender}"),
    ("new teammate", "welcoming them to the team",
     "Hi {name},\n\nWelcome to the team! We're all glad you've joined us. On your first day, I'll show you around, introduce "
     "you to everyone and help you set up your laptop. Don't hesitate to ask me anything in the meantime.\n\nSee you soon,\n{sender}"),
    ("friend", "congratulating them on their new job as {a_job}",
     "Hi {name},\n\nCongratulations on your new job as {a_job}! You've worked so hard for this, and I'm thrilled for you. "
     "Let's celebrate soon; the coffee is on me.\n\nCheers,\n{sender}"),
    ("gym manager", "cancelling my membership at the end of the month",
     "Dear {name},\n\nI would like to cancel my gym membership at the end of this month, as I am moving to a new city. Please "
     "let me know if you need anything else from me to complete the cancellation. Thank you for the great classes over the "
     "past year.\n\nBest regards,\n{sender}"),
]


EMAIL_PROMPTS = [
    "Write a short email to {name}, my {relation}, {purpose}. My name is {sender}.",
    "Draft an email to my {relation} {name} {purpose}. Sign it from {sender}.",
    "Can you write an email {purpose}? It's for my {relation}, {name}, and it's from me, {sender}.",
    "Help me write a polite email to {name} (my {relation}) {purpose}. I'm {sender}.",
]


DISHES = ["lasagne", "a vegetable curry", "homemade pizza", "lentil soup", "tacos", "a roast chicken"]


PROJECTS = ["budget report", "website launch", "customer survey", "office move", "spring fundraiser"]


STORY_PROMPTS = [
    "Write a short story about {desc} named {name} who wants to {goal}.",
    "Tell me a short story about {name}, {desc} {setting}, who dreams of {goal_ing}.",
    "Write a children's story about {desc} called {name} who tries to {goal}.",
    "I need a bedtime story about {desc} who wants to {goal}. Call the main character {name}.",
]


PRODUCT_CLOSINGS = ["It's a simple upgrade you'll use every day.", "Order yours today and feel the difference.",
                    "Built to last, it's a small investment that pays off for years.", "It makes a thoughtful gift, too."]


CHILD_AGES = [6, 7, 8, 9, 10]


POST_OPENERS = ["Mark your calendars!", "Save the date!", "You're invited!", "Calling all neighbours!"]


POST_CLOSERS = ["See you there!", "Bring your friends!", "We can't wait to see you!", "Everyone is welcome!"]


HASHTAGS = ["#CommunityDay", "#ShopLocal", "#GoodTimes", "#OurTown", "#JoinUs", "#WeekendPlans"]


CARD_MESSAGES = [
    ("a short birthday message", ("my friend", "my sister", "my brother", "my coworker"),
     "Happy birthday, {name}! I hope your day is full of laughter, good food and your favourite people. Here's to a wonderful year ahead."),
    ("a thank-you note for a birthday present", ("my aunt", "my grandmother", "my friend"),
     "Dear {name},\n\nThank you so much for the lovely {gift}. It was such a thoughtful surprise, and I have already {used}. "
     "I'm lucky to have you.\n\nWith thanks,\n{sender}"),
    ("a card congratulating someone on a new job", ("my friend", "my cousin", "my former colleague"),
     "Congratulations on the new job, {name}! All your hard work has paid off, and your new team is lucky to have you. "
     "I can't wait to hear how your first week goes."),
    ("a graduation card", ("my niece", "my nephew", "my friend", "my neighbour's child"),
     "Congratulations on your graduation, {name}! You worked so hard for this, and everyone who knows you is proud. "
     "I can't wait to see what you do next."),
    ("a get-well-soon message", ("my coworker", "my uncle", "my friend", "my neighbour"),
     "Dear {name}, I'm sorry to hear you're not feeling well. Take all the time you need to rest, and let me know if I can "
     "bring you anything. Wishing you a speedy recovery."),
    ("a farewell message", ("my colleague", "my manager", "my teammate"),
     "Dear {name}, it has been a pleasure working with you. Thank you for your help, your humour and all the good advice. "
     "Best of luck in the next chapter; we will miss you!"),
    ("a card for new parents", ("my friend", "my brother", "my cousin"),
     "Congratulations on the arrival of your little one, {name}! Wishing your family lots of joy, cuddles and, hopefully, "
     "some sleep in the weeks ahead."),
    ("a wedding card", ("my best friend", "my cousin", "my colleague"),
     "Congratulations on your wedding, {name}! May your life together be full of kindness, laughter and adventure. "
     "Wishing you both every happiness."),
    ("a thank-you note", ("my child's teacher", "my piano teacher", "my swimming coach"),
     "Dear {name},\n\nThank you for a wonderful year. Your patience and encouragement made every lesson something to look "
     "forward to, and the progress this year is thanks to you.\n\nWarm regards,\n{sender}"),
]


GIFTS = [("cookbook", "tried two of the recipes"), ("scarf", "worn it twice this week"), ("plant", "found the perfect sunny spot for it"),
         ("novel", "read the first three chapters"), ("mug", "used it for my coffee every morning")]


STORY_GENRES = ["mystery", "adventure", "comedy", "science fiction", "fairy tale", "ghost"]


CLASS_PLURAL = {"mammal": "mammals", "bird": "birds", "reptile": "reptiles", "amphibian": "amphibians", "fish": "fish",
                "insect": "insects", "mollusk": "mollusks"}


BRAINSTORM_PROMPTS = ["Give me {n} {theme}.", "List {n} {theme}.", "Can you brainstorm {n} {theme}?",
                      "I need some {theme}. Suggest {n}.", "Could you suggest {n} {theme}?"]


BLOG_IDEAS = ["Common beginner mistakes in {hobby} and how to avoid them", "My first month of {hobby}: what I learned",
              "The essential gear for {hobby} on a budget", "How {hobby} helps me unwind after work",
              "How to make time for {hobby} in a busy week", "Five questions I had when I started {hobby}",
              "How to find people to enjoy {hobby} with"]


INTROS = ["Here are {n}:", "Sure! Here are {n}:", "Here you go:", "Happy to help:"]


@dataclass(frozen=True)
class Desk:
    """A made-up business whose facts go in the system prompt, with questions answered from them."""

    name: str
    facts: str
    questions: tuple[tuple[str, str], ...]


DESKS = [
    Desk("Maple Street Library",
         "Opening hours: Monday to Friday 9 am to 8 pm, Saturday 10 am to 5 pm, closed on Sunday. Library cards are free for "
         "local residents with proof of address. Books can be borrowed for three weeks and renewed twice online.",
         (("Are you open on Sunday?", "No, Maple Street Library is closed on Sundays. We're open Monday to Friday from 9 am to 8 pm and Saturday from 10 am to 5 pm."),
          ("How much does a library card cost?", "Library cards are free for local residents. Just bring proof of address to the front desk."),
          ("How long can I keep a book?", "You can borrow books for three weeks, and you can renew them online up to two times."))),
    Desk("Spoke & Chain Bikes",
         "Open Tuesday to Saturday, 10 am to 6 pm. A basic tune-up costs 45 dollars and usually takes two days. Flat tires are "
         "fixed while you wait for 12 dollars. Rental bikes cost 25 dollars per day, helmet included.",
         (("How much is a tune-up?", "A basic tune-up costs 45 dollars and usually takes about two days."),
          ("Can you fix a flat tire today?", "Yes! We fix flat tires while you wait for 12 dollars, Tuesday to Saturday between 10 am and 6 pm."),
          ("Do rentals come with a helmet?", "Yes, every rental includes a helmet. Bikes cost 25 dollars per day."))),
    Desk("Bright Smile Dental Clinic",
         "Open Monday to Thursday 8 am to 5 pm and Friday 8 am to 1 pm. New patients should arrive 15 minutes early to fill in a "
         "form. Cancellations need 24 hours' notice. For dental emergencies outside opening hours, call the on-call line at 555-0142.",
         (("What time do you close on Friday?", "On Fridays we close at 1 pm. From Monday to Thursday we're open until 5 pm."),
          ("I'm a new patient. Is there anything I should know?", "Welcome! Please arrive 15 minutes early so you have time to fill in a short form."),
          ("I have a toothache and you're closed. What should I do?", "For dental emergencies outside opening hours, please call our on-call line at 555-0142."))),
    Desk("Golden Crust Bakery",
         "Open every day from 7 am to 3 pm. Sourdough loaves cost 6 dollars and usually sell out by noon. Custom birthday cakes "
         "need three days' notice. All breads are vegan; pastries contain butter and eggs.",
         (("Is your bread vegan?", "Yes, all of our breads are vegan. Our pastries contain butter and eggs, though."),
          ("Can I order a birthday cake for tomorrow?", "I'm sorry, custom birthday cakes need three days' notice, so tomorrow is too soon. We'd be happy to make one for any day after that."),
          ("When should I come to get sourdough?", "Come early! Our 6-dollar sourdough loaves usually sell out by noon, and we open at 7 am."))),
    Desk("Riverside Community Gym",
         "Open 6 am to 10 pm on weekdays and 8 am to 8 pm on weekends. Monthly membership costs 30 dollars, or 20 dollars for "
         "students. A free induction session is included for all new members. Towels are not provided.",
         (("How much is a membership for a student?", "Student membership costs 20 dollars a month; the regular price is 30 dollars."),
          ("Should I bring a towel?", "Yes, please bring your own towel, as towels are not provided."),
          ("What time do you open on Saturday?", "On weekends we're open from 8 am to 8 pm, so on Saturday we open at 8 am."))),
]


# A phrase of each wrong sentence that the corrected one must not keep.
GRAMMAR_ERRORS = ["Me and him", "Their going", "don't like", "it's tail", "Your the", "less people", "should of",
                  "you and I", "We was", "runned", "shelf is", "borrow me", "I seen", "Whose", "childrens", "would of"]


NEWS_TEMPLATES = [
    ("{town} opened its new public library on {day}, replacing a building that had served the community for {years} years. "
     "The library holds about {books} books and includes a children's room, a quiet study area and a small maker space with "
     "3D printers. Mayor {person} said the project was paid for by city funds and private donations. More than {visitors} "
     "people visited on the first day. Staff plan to offer free computer classes for adults starting next month.",
     "{town} opened a new library with about {books} books, a children's room, a study area and a maker space. More than "
     "{visitors} people came on the first day, and free computer classes for adults start next month."),
    ("Volunteers in {town} planted {trees} trees along the {river} River on {day} as part of a project to reduce flooding "
     "and give wildlife more shelter. The trees, mostly willows and alders, were donated by a local nursery. Organizer "
     "{person} said roots help hold the riverbank together during heavy rain. The group plans a second planting day in the "
     "autumn and is looking for more volunteers.",
     "Volunteers in {town} planted {trees} donated trees along the {river} River to reduce flooding and help wildlife. "
     "A second planting day is planned for the autumn."),
    ("The {town} High School robotics team won the regional championship on {day}, beating {teams} other schools. Their robot, "
     "built over four months, had to sort coloured blocks and climb a ramp within two minutes. Team captain {person} said the "
     "hardest part was fixing a broken motor the night before the final. The team will now compete at the national finals "
     "in {month}.",
     "The {town} High School robotics team beat {teams} schools to win the regional championship after fixing a broken motor "
     "just before the final. They will compete at the national finals in {month}."),
    ("Starting on {day}, a new bus route will connect central {town} with the hospital and the train station. Buses will run "
     "every {minutes} minutes from 6 am to 11 pm, and the fare will stay the same as on other city routes. Transport officer "
     "{person} said the route was added after a survey showed many residents had no direct way to reach the hospital.",
     "A new bus route will link central {town} with the hospital and the train station, running every {minutes} minutes from "
     "6 am to 11 pm at the normal fare. It was added after residents reported no direct way to reach the hospital."),
]


CONVERSIONS = [("kilometres", "metres", 1000), ("kilograms", "grams", 1000), ("hours", "minutes", 60), ("days", "hours", 24),
               ("litres", "millilitres", 1000), ("metres", "centimetres", 100), ("feet", "inches", 12), ("minutes", "seconds", 60)]


CELSIUS_TO_F = [(0, "32"), (100, "212"), (20, "68"), (25, "77"), (30, "86"), (10, "50"), (-40, "-40"), (37, "98.6")]


SORT_WORDS = ["apple", "banana", "cherry", "mango", "kiwi", "pear", "grape", "lemon", "zebra", "otter", "falcon", "badger",
              "violin", "trumpet", "piano", "drum", "harp", "river", "island", "desert", "valley", "canyon"]


SPANISH = [("hello", "hola"), ("thank you", "gracias"), ("cat", "gato"), ("dog", "perro"), ("water", "agua"), ("house", "casa"),
           ("book", "libro"), ("apple", "manzana"), ("good morning", "buenos días"), ("please", "por favor"), ("goodbye", "adiós")]


FRENCH = [("hello", "bonjour"), ("thank you", "merci"), ("cat", "chat"), ("dog", "chien"), ("water", "eau"), ("house", "maison"),
          ("book", "livre"), ("cheese", "fromage"), ("goodbye", "au revoir"), ("please", "s'il vous plaît")]


ANTONYMS = [("hot", "cold"), ("happy", "sad"), ("early", "late"), ("ancient", "modern"), ("increase", "decrease"),
            ("victory", "defeat"), ("heavy", "light"), ("empty", "full"), ("true", "false"), ("wide", "narrow"),
            ("rough", "smooth"), ("asleep", "awake"), ("shallow", "deep"), ("noisy", "quiet")]


CLOSED_QA_PROMPTS = ["Read the passage and answer the question.\n\nPassage: {passage}\n\nQuestion: {question}",
                     "{passage}\n\nBased on the text above, {question_lower}",
                     "Answer using only the information in this text.\n\n{passage}\n\n{question}"]


EMAIL_DOMAINS = ["example.com", "example.org", "mail.example.net"]


ANIMAL_CLOSINGS = ["Protecting the places where {plural} live is the best way to make sure they survive.",
                   "Scientists continue to study {plural} to learn more about how they live.",
                   "These traits make {plural} a favourite subject of nature films and school projects.",
                   "Watching {plural} in the wild, or even in a good documentary, shows how well they fit their surroundings."]


TOWN_EXTRAS = ["In recent years, new cafés and a small museum have opened near the river.",
               "Many families have lived there for generations, and everyone seems to know everyone else.",
               "Walkers come in spring to follow the riverside path through the meadows.",
               "The old market hall, once a grain store, now hosts concerts on summer evenings."]
