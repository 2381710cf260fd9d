"""Draw static/favicon.ico (16, 32 and 48 pixels) from the shapes of static/favicon.svg:
a blue rounded square with a white tick. Run: .venv/bin/python frontend/favicon_ico.py"""

from pathlib import Path

from PIL import Image, ImageDraw

STATIC = Path(__file__).resolve().parent.parent / "static"


def draw(size: int = 256) -> Image.Image:
    scale = size / 32
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    pen = ImageDraw.Draw(image)
    pen.rounded_rectangle((0, 0, size - 1, size - 1), radius=round(4 * scale), fill="#1d70b8")
    points = [(9 * scale, 17 * scale), (14 * scale, 22 * scale), (23 * scale, 11 * scale)]
    pen.line(points, fill="#ffffff", width=round(4 * scale), joint="curve")
    for x, y in (points[0], points[-1]):  # round line caps
        r = 2 * scale
        pen.ellipse((x - r, y - r, x + r, y + r), fill="#ffffff")
    return image


if __name__ == "__main__":
    draw().save(STATIC / "favicon.ico", sizes=[(16, 16), (32, 32), (48, 48)])
    print(STATIC / "favicon.ico")
